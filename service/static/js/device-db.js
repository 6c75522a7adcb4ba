// What a tablet keeps, shared by the pages and the service worker (no build step: both load this
// file). One IndexedDB database:
//   outbox  what waits to be sent, one item per API request, each owned by the user who saved it
//   data    per user: the reference lists and the team's traders (GET /api/v1/device/data)
//   auth    per user: the bearer token the outbox sends with
//   meta    the user signed in on this device, for the service worker
// An item carries the ids the API already accepts (the trader's `id`, `client_event_id`,
// `Idempotency-Key`), so sending it twice records it once.
(function (root) {
  "use strict";
  var DB_NAME = "onboard-device";
  var VERSION = 1;
  var UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
  var dbPromise = null;

  function open() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        var outbox = db.createObjectStore("outbox", { keyPath: "id" });
        outbox.createIndex("owner", "owner");
        db.createObjectStore("data", { keyPath: "owner" });
        db.createObjectStore("auth", { keyPath: "owner" });
        db.createObjectStore("meta", { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { dbPromise = null; reject(request.error); };
    });
    return dbPromise;
  }

  function run(store, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode);
        var result;
        var request = fn(tx.objectStore(store));
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  var DeviceDB = {
    get: function (store, key) { return run(store, "readonly", function (s) { return s.get(key); }); },
    put: function (store, value) { return run(store, "readwrite", function (s) { return s.put(value); }); },
    remove: function (store, key) { return run(store, "readwrite", function (s) { return s.delete(key); }); },
    all: function (store) { return run(store, "readonly", function (s) { return s.getAll(); }); },

    // The items of one user, oldest first: the order they were saved is the order they are sent.
    items: function (owner) {
      return run("outbox", "readonly", function (s) { return s.index("owner").getAll(owner); })
        .then(function (items) { return (items || []).sort(function (a, b) { return a.seq - b.seq; }); });
    },
    currentUser: function () {
      return DeviceDB.get("meta", "user").then(function (row) { return row ? row.value : null; });
    },
    setCurrentUser: function (userId) { return DeviceDB.put("meta", { key: "user", value: userId }); },

    uuid: function () {
      if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
      var b = root.crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
      return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
    },

    // Lower case, no diacritics, đ → d: the server's folding, for searching on the device.
    fold: function (text) {
      return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
        .replace(/[đĐ]/g, "d").toLowerCase().replace(/\s+/g, " ").trim();
    },

    UUID_RE: UUID_RE,

    // The form pages whose submissions can wait on the device, and the page each is fixed on.
    formKind: function (path) {
      if (path === "/merchants/new") return "merchant";
      if (new RegExp("^/merchants/" + UUID_RE + "/payment-accounts/import$").test(path)) return "qr_photo";
      var m = new RegExp("^/merchants/(" + UUID_RE + ")/(visits|stages|payment-accounts)/new$").exec(path);
      if (!m) return null;
      return { visits: "visit", stages: "stage", "payment-accounts": "payment_account" }[m[2]];
    },
    merchantIdOf: function (path) {
      var m = new RegExp("^/merchants/(" + UUID_RE + ")/").exec(path);
      return m ? m[1] : null;
    },

    // Photos wait on the device too, within limits: a tablet's storage is small and shared.
    PHOTO_MAX: 5 * 1024 * 1024,
    PHOTOS_MAX: 30 * 1024 * 1024,

    // A photo of the trader's own QR, taken without a connection: the server reads it later, and
    // the volunteer then checks the account it found before it is saved.
    photoItem: function (path, photo, owner, now) {
      var merchantId = DeviceDB.merchantIdOf(path);
      return {
        id: DeviceDB.uuid(), owner: owner, kind: "qr_photo", merchant_id: merchantId, label: "",
        method: "POST", url: "/api/v1/payment-qr/decode", body: { client_id: DeviceDB.uuid() }, photo: photo,
        key: "qr_photo:" + DeviceDB.uuid(), created: now.toISOString(), seq: now.getTime(), state: "waiting",
        attempts: 0, answer: null, form_path: path, form_values: []
      };
    },

    // A submitted form (its path and [name, value] pairs) as outbox items: the API request each
    // becomes. Returns null for a form that only asks the server for options (nothing to save).
    itemsFromForm: function (path, pairs, owner, now) {
      var kind = DeviceDB.formKind(path);
      if (!kind || kind === "qr_photo") return null;
      var one = function (name) {
        for (var i = 0; i < pairs.length; i++) {
          if (pairs[i][0] === name) return String(pairs[i][1]).normalize("NFC").trim();
        }
        return "";
      };
      var many = function (name) {
        return pairs.filter(function (p) { return p[0] === name && p[1]; }).map(function (p) { return String(p[1]); });
      };
      var optional = function (body, names) {
        names.forEach(function (name) { var v = one(name); if (v) body[name] = v; });
        return body;
      };
      var number = function (value) { return /^\d+$/.test(value) ? parseInt(value, 10) : value; };
      if (one("_refresh") || one("_filter")) return null;
      var at = now.toISOString();
      var merchantId = kind === "merchant" ? one("id") : DeviceDB.merchantIdOf(path);
      var base = function (itemKind, url, body, formPath) {
        return {
          id: DeviceDB.uuid(), owner: owner, kind: itemKind, merchant_id: merchantId, label: "",
          method: "POST", url: url, body: body, key: itemKind + ":" + DeviceDB.uuid(),
          created: at, seq: now.getTime(), state: "waiting", attempts: 0, answer: null,
          form_path: formPath, form_values: pairs.filter(function (p) { return p[0] !== "_csrf_token"; })
        };
      };
      var api = "/api/v1/merchants/" + merchantId;
      if (kind === "merchant") {
        if (!merchantId) merchantId = DeviceDB.uuid();
        var body = optional({ id: merchantId, registered_at: at }, [
          "kind", "business_name", "category", "owner_name", "owner_phone", "owner_id_number", "tax_code",
          "commune_code", "village_id", "market", "stall", "lat", "lon", "team_id", "notes"]);
        body.consent_purposes = many("consent_purposes");
        body.not_duplicate_of = many("not_duplicate_of");
        var item = base("merchant", "/api/v1/merchants", body, "/merchants/new");
        item.label = body.business_name || "";
        return [item];
      }
      if (kind === "visit") {
        var visit = optional({ client_event_id: one("client_event_id") || DeviceDB.uuid(), occurred_at: at,
          topics: many("topics") }, ["visited_on", "outcome", "note", "next_follow_up"]);
        visit.minutes = number(one("minutes"));
        var items = [base("visit", api + "/visits", visit, path)];
        if (one("checkin")) {
          var day = one("visited_on");
          var checkin = base("checkin", api + "/payment-checkins", day ? { answer: one("checkin"), day: day } : { answer: one("checkin") }, path);
          checkin.seq += 1;
          checkin.form_values = [];
          items.push(checkin);
        }
        return items;
      }
      if (kind === "stage") {
        var stage = optional({ client_event_id: one("client_event_id") || DeviceDB.uuid(), occurred_at: at },
          ["stage", "kind", "note", "link", "visit_on"]);
        if (one("customer_payments_7d")) stage.customer_payments_7d = number(one("customer_payments_7d"));
        var query = "?stage=" + encodeURIComponent(one("stage")) + (one("kind") === "regressed" ? "&kind=regressed" : "");
        return [base("stage", api + "/stage-events", stage, path + query)];
      }
      var account = optional({ id: one("id") || DeviceDB.uuid(), service: one("service") || "account",
        is_primary: !!one("is_primary") }, ["bank_bin", "account", "holder_name"]);
      return [base("payment_account", api + "/payment-accounts", account, path)];
    }
  };

  root.DeviceDB = DeviceDB;
})(typeof self !== "undefined" ? self : this);
