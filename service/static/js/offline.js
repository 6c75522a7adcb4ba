// The device side of offline work, on every page of a signed-in user (the pages work without it):
// - registers the service worker and keeps the pages and data the volunteer needs on the device;
// - shows "n chờ gửi" and sends the outbox (on page load, on reconnect, and every little while),
//   in order per trader, only for the user signed in, with that user's token; an item leaves the
//   outbox only when the server confirmed it;
// - the outbox page, the form reopened to fix what the server refused, search on the device;
// - signing out clears this user's cached traders and pages (items waiting stay, for this user).
(function () {
  "use strict";
  var configNode = document.getElementById("device-config");
  if (!configNode || !window.indexedDB || !window.DeviceDB) return;
  var config = JSON.parse(configNode.textContent);
  var T = config.texts;
  var me = config.user_id;
  var DB = window.DeviceDB;
  var PAGES = "onboard-pages-v1";
  var STATIC = "onboard-static-v1";
  var ZERO = "00000000-0000-0000-0000-000000000000";
  var SEND_TIMEOUT = 15000;
  var RETRY_EVERY = 20000;
  var WARM_EVERY = 10 * 60 * 1000;
  var body = document.body;
  var offlineCopy = body.dataset.offlineCopy === "1";
  var shell = body.dataset.offlineShell === "1";
  var signInNeeded = false;

  var WARM_PAGES = ["/", "/worklist", "/merchants/", "/merchants/new", "/outbox", "/offline/page",
    "/offline/forms/visit", "/offline/forms/stage", "/offline/forms/payment-account", "/offline/forms/payment-qr"].concat(
    ["identity", "bank_account", "qr_issued", "qr_active", "ecommerce", "digital_ops"].map(function (s) {
      return "/offline/forms/stage?stage=" + s;
    }));
  var WARM_STATIC = ["/static/css/app.css", "/static/css/merchants.css", "/static/css/onboarding.css",
    "/static/css/offline.css", "/static/js/device-db.js", "/static/js/offline.js", "/static/js/merchant-form.js",
    "/static/fonts/NotoSans-Vietnamese.woff2", "/static/fonts/NotoSans-Vietnamese-Bold.woff2"];

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }
  // The moment an item was saved, as the server's pages write one: Vietnam's time (UTC+7 all year),
  // "8/12/2026 10:05" in Vietnamese and "8 Dec 2026, 10:05" in English, whatever the tablet's zone.
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function when(saved) {
    var t = new Date(new Date(saved).getTime() + 7 * 3600 * 1000);
    var time = ("0" + t.getUTCHours()).slice(-2) + ":" + ("0" + t.getUTCMinutes()).slice(-2);
    if (config.lang === "vi") return t.getUTCDate() + "/" + (t.getUTCMonth() + 1) + "/" + t.getUTCFullYear() + " " + time;
    return t.getUTCDate() + " " + MONTHS[t.getUTCMonth()] + " " + t.getUTCFullYear() + ", " + time;
  }
  // Items a person must look at before they can go: refused by the server, or a read QR to check.
  function waitsForPerson(item) { return item.state === "needs_fix" || item.state === "needs_review"; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function notice(text, link) {
    var box = document.getElementById("device-notice");
    var main = document.querySelector("main");
    if (main && box.parentNode !== main) main.insertBefore(box, main.firstChild);
    box.textContent = text;
    if (link) { box.appendChild(document.createTextNode(" ")); box.appendChild(link); }
    box.hidden = false;
  }
  function today() {
    var d = new Date();
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }
  // The CSRF cookie ends with the browser (a tablet switched off and on), while a page kept on the
  // device still holds the old token: any page answer from the server sets a new cookie.
  function csrfToken() {
    var cookie = function () {
      var m = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
      return m ? decodeURIComponent(m[1]) : null;
    };
    if (cookie()) return Promise.resolve(cookie());
    return fetch("/sw.js", { credentials: "same-origin", cache: "no-store" })
      .then(function () { return cookie() || config.csrf; });
  }
  function withTimeout(ms) {
    var controller = new AbortController();
    setTimeout(function () { controller.abort(); }, ms);
    return controller.signal;
  }

  // --- whose device it is ----------------------------------------------------------------------

  // Another user signed in on this tablet (the previous one's session ended without signing
  // out): the previous user's pages and traders go; their waiting items stay, theirs alone.
  function claimDevice() {
    return DB.currentUser().then(function (previous) {
      if (previous === me) return;
      localStorage.removeItem("device-warm:" + me);  // nothing of this user is kept: keep it now
      var clearing = previous ? forget(previous) : caches.delete(PAGES);
      return clearing.then(function () { return DB.setCurrentUser(me); });
    });
  }

  function forget(user) {
    localStorage.removeItem("device-warm:" + user);
    return Promise.all([DB.remove("data", user), DB.remove("auth", user), caches.delete(PAGES)]);
  }

  // --- keeping pages and data on the device ------------------------------------------------------

  function warm() {
    if (offlineCopy || !navigator.onLine) return Promise.resolve();
    var stamp = "device-warm:" + me;
    var last = Number(localStorage.getItem(stamp) || 0);
    if (Date.now() - last < WARM_EVERY) return Promise.resolve();
    localStorage.setItem(stamp, String(Date.now()));
    var data = fetch("/api/v1/device/data", { credentials: "same-origin", headers: { "Accept-Language": config.lang } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d && d.user_id === me) { d.owner = me; return DB.put("data", d); } });
    var pages = caches.open(PAGES).then(function (cache) {
      return Promise.all(WARM_PAGES.map(function (path) {
        return fetch(path, { credentials: "same-origin" }).then(function (r) {
          if (r.ok && !r.redirected) return cache.put(path, r);
        });
      }));
    });
    var statics = caches.open(STATIC).then(function (cache) {
      return Promise.all(WARM_STATIC.map(function (path) {
        return fetch(path).then(function (r) { if (r.ok) return cache.put(path, r); });
      }));
    });
    return Promise.all([data, pages, statics]).catch(function () { localStorage.removeItem(stamp); });
  }

  // --- the badge -------------------------------------------------------------------------------

  function refreshBadge() {
    return DB.items(me).then(function (items) {
      var badge = document.getElementById("outbox-badge");
      badge.textContent = fill(T.badge, { n: items.length });
      badge.hidden = false;
      badge.classList.toggle("has-items", items.length > 0);
      badge.classList.toggle("has-problem", items.some(waitsForPerson));
      document.getElementById("net-state").hidden = navigator.onLine;
      return items;
    });
  }

  // --- sending ---------------------------------------------------------------------------------

  // The page session decides who may send: a token alone never outlives it.
  function sessionUser() {
    return fetch("/api/v1/me", { credentials: "same-origin", signal: withTimeout(SEND_TIMEOUT) })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) return "signed_out";
        if (!r.ok) return "offline";
        return r.json().then(function (who) { return who.id === me ? "ok" : "signed_out"; });
      }, function () { return "offline"; });
  }

  function token(renew) {
    return DB.get("auth", me).then(function (row) {
      if (!renew && row && Date.parse(row.expires_at) - Date.now() > 60000) return row.token;
      return askToken();
    });
  }

  function askToken() {
    return csrfToken().then(function (csrf) {
      return fetch("/device/token", {
        method: "POST", credentials: "same-origin", redirect: "manual",
        headers: { "X-CSRFToken": csrf }, signal: withTimeout(SEND_TIMEOUT)
      });
    }).then(function (r) {
      if (r.status !== 201) return null;
      return r.json().then(function (got) {
        if (got.user_id !== me) return null;
        return DB.put("auth", { owner: me, token: got.token, expires_at: got.expires_at })
          .then(function () { return got.token; });
      });
    });
  }

  function send(item, bearer) {
    var headers = { "Authorization": "Bearer " + bearer, "Idempotency-Key": item.key, "Accept-Language": config.lang };
    var payload;
    if (item.photo) {
      payload = new FormData();
      payload.append("image", item.photo, item.photo.name || "qr.jpg");
    } else {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(item.body);
    }
    return fetch(item.url, {
      method: item.method, headers: headers, body: payload, signal: withTimeout(SEND_TIMEOUT)
    }).then(function (r) {
      return r.text().then(function (text) {
        var answer = null;
        try { answer = JSON.parse(text); } catch (e) { answer = null; }
        return { status: r.status, answer: answer };
      });
    });
  }

  // A registration refused because its id exists: sent before, the answer lost on the way (the
  // form went to the server as a page, or a reply timed out). The server has it: confirmed.
  function alreadyThere(item, bearer, result) {
    var errors = (result.answer && result.answer.errors) || [];
    var idTaken = result.status === 409 && errors.some(function (e) { return e.field === "id"; });
    if (!idTaken || item.kind !== "merchant") return Promise.resolve(false);
    return fetch("/api/v1/merchants/" + item.merchant_id, { headers: { "Authorization": "Bearer " + bearer } })
      .then(function (r) { return r.ok; }, function () { return false; });
  }

  function confirmed(item, result) {
    var removing = DB.remove("outbox", item.id);
    if (item.kind !== "merchant" || !result.answer) return removing;
    return removing.then(function () { return DB.get("data", me); }).then(function (data) {
      if (!data) return;
      var m = result.answer;
      data.traders = data.traders.filter(function (t) { return t.id !== m.id; }).concat([{
        id: m.id, version: m.version, business_name: m.business_name, owner_name: m.owner_name,
        owner_phone: null, kind: m.kind, category: m.category, commune_code: m.commune_code,
        village_id: m.village_id, market: m.market, stall: m.stall, current_stage: m.current_stage,
        next_follow_up: m.next_follow_up }]);
      return DB.put("data", data);
    });
  }

  // The server read the photo: the account it found becomes a payment account for the volunteer
  // to check with the trader and save (the photo itself is no longer kept).
  function photoRead(item, result) {
    var qr = result.answer;
    item.kind = "payment_account";
    item.url = "/api/v1/merchants/" + item.merchant_id + "/payment-accounts";
    item.photo = null;
    item.body = {};
    item.key = "payment_account:" + DB.uuid();
    item.state = "needs_review";
    item.answer = { status: result.status, detail: T.qr_read, errors: [], duplicates: [] };
    item.form_path = "/merchants/" + item.merchant_id + "/payment-accounts/new";
    item.form_values = [["id", DB.uuid()], ["service", qr.service], ["bank_bin", qr.bank_bin], ["account", qr.account]];
    return DB.put("outbox", item);
  }

  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    var work = navigator.locks ? navigator.locks.request("onboard-outbox", sendAll) : sendAll();
    flushing = work.catch(function () {}).then(function () {
      flushing = null;
      refreshBadge();
      renderOutbox();
    });
    return flushing;
  }

  function sendAll() {
    return DB.items(me).then(function (items) {
      if (!items.some(function (i) { return !waitsForPerson(i); })) return;
      return sessionUser().then(function (session) {
        if (session === "offline") return;
        if (session === "signed_out") return askToSignIn();
        signInNeeded = false;
        return token(false).then(function (bearer) {
          if (!bearer) return askToSignIn();
          return sendInOrder(items, bearer);
        });
      });
    });
  }

  function sendInOrder(items, bearer) {
    var blocked = {};
    var index = 0;
    var renewed = false;
    function next() {
      if (index >= items.length) return Promise.resolve();
      var item = items[index++];
      if (waitsForPerson(item) || blocked[item.merchant_id]) {
        blocked[item.merchant_id] = true;
        return next();
      }
      item.state = "sending";
      return DB.put("outbox", item).then(function () { renderOutbox(); return send(item, bearer); }).then(function (result) {
        item.attempts += 1;
        if (result.status === 401) {
          if (renewed) { item.state = "waiting"; return DB.put("outbox", item).then(askToSignIn); }
          renewed = true;
          return token(true).then(function (fresh) {
            if (!fresh) { item.state = "waiting"; return DB.put("outbox", item).then(askToSignIn); }
            bearer = fresh;
            index -= 1;
            item.state = "waiting";
            return DB.put("outbox", item).then(next);
          });
        }
        if (result.status >= 200 && result.status < 300) {
          if (item.kind === "qr_photo") {
            blocked[item.merchant_id] = true;
            return photoRead(item, result).then(next);
          }
          return confirmed(item, result).then(next);
        }
        return alreadyThere(item, bearer, result).then(function (there) {
          if (there) return confirmed(item, { answer: null }).then(next);
          item.answer = { status: result.status, detail: result.answer && result.answer.detail,
            errors: (result.answer && result.answer.errors) || [],
            duplicates: (result.answer && result.answer.duplicates) || [] };
          if (result.status >= 500) {  // the server's trouble: try again later, from here
            item.state = "waiting";
            return DB.put("outbox", item);
          }
          item.state = "needs_fix";
          blocked[item.merchant_id] = true;
          return DB.put("outbox", item).then(next);
        });
      }, function () {  // no connection, or no answer in time: stop; the order is kept
        item.attempts += 1;
        item.state = "waiting";
        item.answer = { network: true };
        return DB.put("outbox", item);
      });
    }
    return next();
  }

  function askToSignIn() {
    signInNeeded = true;
    var link = el("a", { href: "/login?next=" + encodeURIComponent(location.pathname), id: "sign-in-again", text: T.sign_in });
    notice(T.sign_in_again, link);
  }

  // --- a page that is the device's copy ----------------------------------------------------------

  function adaptCopy() {
    if (!offlineCopy) return Promise.resolve();
    notice(T.offline_copy);
    // A kept form carries the ids it was kept with: each new record needs its own.
    document.querySelectorAll("form input[name=id], form input[name=client_event_id]").forEach(function (input) {
      input.value = DB.uuid();
    });
    document.querySelectorAll("input[name=visited_on], input[name=visit_on]").forEach(function (input) {
      if (input.value && input.value < today()) input.value = today();
    });
    if (!shell) return Promise.resolve();
    var merchantId = DB.merchantIdOf(location.pathname);
    if (!merchantId) return Promise.resolve();
    document.querySelectorAll("a[href*='" + ZERO + "']").forEach(function (a) {
      a.setAttribute("href", a.getAttribute("href").replace(ZERO, merchantId));
    });
    document.querySelectorAll("form[action*='" + ZERO + "']").forEach(function (f) {
      f.setAttribute("action", f.getAttribute("action").replace(ZERO, merchantId));
    });
    return traderById(merchantId).then(function (trader) {
      if (!trader) return;
      document.querySelectorAll("main a[href^='/merchants/" + merchantId + "']").forEach(function (a) {
        if (a.textContent.trim() === "…") a.textContent = trader.business_name;
      });
      document.title = document.title.replace("…", trader.business_name);
      var holder = document.querySelector("input[name=holder_name]");
      if (holder && !holder.value && trader.owner_name) {
        holder.value = DB.fold(trader.owner_name).toUpperCase();
      }
    });
  }

  // The device's traders and the registrations waiting in the outbox.
  function traders() {
    return Promise.all([DB.get("data", me), DB.items(me)]).then(function (got) {
      var known = (got[0] && got[0].traders) || [];
      var ids = {};
      known.forEach(function (t) { ids[t.id] = true; });
      var waiting = got[1].filter(function (i) { return i.kind === "merchant" && !ids[i.merchant_id]; })
        .map(function (i) {
          return { id: i.merchant_id, business_name: i.body.business_name || "", owner_name: i.body.owner_name || "",
            owner_phone: i.body.owner_phone || null, market: i.body.market || null, stall: i.body.stall || null,
            current_stage: "registered", waiting: true };
        });
      return { list: waiting.concat(known), stages: (got[0] && got[0].stages) || {} };
    });
  }

  function traderById(id) {
    return traders().then(function (t) { return t.list.filter(function (x) { return x.id === id; })[0]; });
  }

  // --- search on the device (the trader list, when the server cannot be reached) -------------

  function localSearch() {
    var form = document.querySelector("form.search");
    var list = document.querySelector("ul.merchant-list");
    if (!form || !list || location.pathname !== "/merchants/") return;
    function show(q) {
      return traders().then(function (t) {
        var words = DB.fold(q).split(" ").filter(Boolean);
        var digits = q.replace(/\D/g, "");
        var found = t.list.filter(function (m) {
          var text = DB.fold([m.business_name, m.owner_name, m.market, m.stall].join(" "));
          var phone = (m.owner_phone || "").replace(/\D/g, "");
          var byText = words.every(function (w) { return text.indexOf(w) !== -1; });
          return byText || (digits.length >= 3 && phone.indexOf(digits.replace(/^84/, "0")) !== -1);
        });
        found.sort(function (a, b) { return DB.fold(a.business_name) < DB.fold(b.business_name) ? -1 : 1; });
        var count = document.getElementById("result-count");
        count.textContent = T.local_results + " · " + fill(T.n_traders, { n: found.length });
        list.textContent = "";
        if (!found.length) list.appendChild(el("li", { text: T.none_found }));
        found.forEach(function (m) {
          var base = "/merchants/" + m.id;
          list.appendChild(el("li", { "class": "card", "data-trader": m.id }, [
            el("a", { "class": "title", href: base, text: m.business_name }),
            m.waiting ? el("span", { "class": "waiting-tag", text: T.waiting_tag }) : null,
            el("span", { text: [m.owner_name, m.owner_phone, [m.market, m.stall].filter(Boolean).join(" ")].filter(Boolean).join(" · ") }),
            el("span", { "class": "muted", text: t.stages[m.current_stage] || "" }),
            el("span", { "class": "buttons" }, [
              el("a", { "class": "button", href: base + "/visits/new", text: T.record_visit }),
              el("a", { "class": "button", href: base + "/stages/new", text: T.record_stage }),
              el("a", { "class": "button", href: base + "/payment-accounts/new", text: T.add_account })
            ])
          ]));
        });
        var next = document.querySelector("a[rel=next]");
        if (next) next.hidden = true;
      });
    }
    form.addEventListener("submit", function (event) {
      if (navigator.onLine && !offlineCopy) return;  // the server searches
      event.preventDefault();
      var q = form.querySelector("input[name=q]").value;
      history.replaceState(null, "", "/merchants/?q=" + encodeURIComponent(q));
      show(q);
    });
    if (offlineCopy) {
      var q = new URLSearchParams(location.search).get("q") || "";
      form.querySelector("input[name=q]").value = q;
      show(q);
    }
  }

  // --- the outbox page -----------------------------------------------------------------------

  function fixUrl(item) {
    return item.form_path + (item.form_path.indexOf("?") === -1 ? "?" : "&") + "outbox=" + item.id;
  }

  function renderOutbox() {
    var box = document.getElementById("outbox");
    if (!box) return Promise.resolve();
    var d = {};
    Array.prototype.forEach.call(box.attributes, function (a) {
      if (a.name.indexOf("data-") === 0) d[a.name.slice(5)] = a.value;
    });
    return Promise.all([DB.items(me), DB.all("outbox")]).then(function (got) {
      var items = got[0];
      var others = got[1].length - items.length;
      box.textContent = "";
      var send = document.getElementById("outbox-send");
      send.hidden = !items.length;
      if (!items.length) box.appendChild(el("p", { id: "outbox-empty", text: d.empty }));
      var pending = {};
      var list = el("ol", { "class": "outbox-list" });
      items.forEach(function (item) {
        var blocked = item.state === "waiting" && pending[item.merchant_id];
        pending[item.merchant_id] = true;
        var state = blocked ? d.blocked : d["state-" + item.state] || item.state;
        if (signInNeeded && item.state === "waiting") state = d["state-needs_sign_in"];
        var answer = null;
        if (item.answer && item.answer.network) answer = el("p", { "class": "muted", text: d.network });
        else if (item.answer) {
          var lines = [item.answer.detail].concat((item.answer.errors || []).map(function (e) { return e.message; }))
            .filter(Boolean).filter(function (v, i, all) { return all.indexOf(v) === i; });
          answer = el("p", { "class": "server-answer", text: d.answer + " (" + item.answer.status + "): " + lines.join(" ") });
        }
        var fix = null;
        if (waitsForPerson(item) && item.kind === "qr_photo") {
          fix = el("a", { "class": "button primary retake", href: item.form_path, text: d.retake });
        } else if (waitsForPerson(item) && item.form_values.length) {
          fix = el("a", { "class": "button primary fix", href: fixUrl(item), text: d.fix });
        }
        var thumbnail = item.photo ? el("img", { "class": "outbox-photo", alt: "", src: URL.createObjectURL(item.photo) }) : null;
        var actions = el("p", { "class": "buttons" }, [
          fix,
          el("button", { type: "button", "class": "danger discard", "data-id": item.id, text: d.discard })
        ]);
        list.appendChild(el("li", { "class": "card outbox-item state-" + item.state, "data-kind": item.kind, "data-id": item.id }, [
          el("strong", { text: (d["kind-" + item.kind] || item.kind) + (item.label ? " · " + item.label : "") }),
          el("span", { "class": "state", text: state }),
          el("span", { "class": "muted", text: d["saved-at"] + " " + when(item.created) +
            (item.attempts ? " · " + d.attempts + ": " + item.attempts : "") }),
          thumbnail, answer, actions
        ]));
      });
      if (items.length) box.appendChild(list);
      if (others > 0) box.appendChild(el("p", { id: "outbox-others", "class": "muted", text: fill(d.others, { n: others }) }));
    });
  }

  function outboxPage() {
    var box = document.getElementById("outbox");
    if (!box) return;
    if (new URLSearchParams(location.search).get("saved")) notice(T.saved_offline);
    document.getElementById("outbox-send").addEventListener("click", flush);
    box.addEventListener("click", function (event) {
      var button = event.target.closest("button.discard");
      if (!button || !window.confirm(box.getAttribute("data-discard-confirm"))) return;
      DB.get("outbox", button.dataset.id).then(function (item) {
        if (item && item.owner === me) return DB.remove("outbox", item.id);
      }).then(function () { refreshBadge(); renderOutbox(); });
    });
    renderOutbox();
  }

  // --- a form reopened to fix what the server refused ------------------------------------------

  function fixMode() {
    var id = new URLSearchParams(location.search).get("outbox");
    var form = document.querySelector("main form.form");
    if (!id || !form) return;
    DB.get("outbox", id).then(function (item) {
      if (!item || item.owner !== me) return;
      prefill(form, item.form_values);
      var answer = item.answer || {};
      var box = el("div", { "class": "card warning outbox-fix", id: "outbox-fix", role: "alert" }, [
        el("p", { text: item.state === "needs_review" ? answer.detail : fill(T.fix_intro, { message: answer.detail || "" }) }),
        item.state === "needs_review" ? null : el("p", { text: T.fix_hint })
      ]);
      (answer.errors || []).forEach(function (e) {
        var field = form.querySelector("[name='" + e.field + "']");
        if (!field) { box.appendChild(el("p", { "class": "field-error", text: e.message })); return; }
        var after = field.closest("fieldset.choices, label.choice") || field;
        after.insertAdjacentElement("afterend", el("p", { "class": "field-error", id: e.field + "-error", text: e.message }));
        field.setAttribute("aria-invalid", "true");
      });
      if ((answer.duplicates || []).length) {
        var items = answer.duplicates.map(function (dup) {
          return el("li", {}, [
            el("span", { text: dup.business_name + " · " + (T.reasons[dup.reason] || dup.reason) + " " }),
            el("label", { "class": "choice" }, [
              el("input", { type: "checkbox", name: "not_duplicate_of", value: dup.id }),
              document.createTextNode(" " + T.not_duplicate)
            ])
          ]);
        });
        box.appendChild(el("section", { id: "outbox-duplicates" }, [
          el("h2", { text: T.duplicates_title }), el("ul", { "class": "list" }, items)]));
      }
      form.insertBefore(box, form.firstChild);
      box.scrollIntoView();
      form.addEventListener("submit", function (event) {
        if (event.submitter && event.submitter.name && event.submitter.name.charAt(0) === "_") return;
        event.preventDefault();
        var pairs = [];
        new FormData(form).forEach(function (value, name) { if (typeof value === "string") pairs.push([name, value]); });
        var fresh = DB.itemsFromForm(location.pathname, pairs, me, new Date());
        if (!fresh) return;
        var main = fresh[0];
        // The moment it was saved on the tablet stays, unless that moment is what the server refused.
        var refused = (item.answer && item.answer.errors || []).map(function (e) { return e.field; });
        ["registered_at", "occurred_at"].forEach(function (k) {
          if (item.body[k] && refused.indexOf(k) === -1) main.body[k] = item.body[k];
        });
        item.body = main.body;
        item.form_values = main.form_values;
        item.key = main.key;  // a new request: the refused one stored nothing under its key
        item.state = "waiting";
        item.answer = null;
        DB.put("outbox", item).then(flush).then(function () { location.href = "/outbox"; });
      });
    });
  }

  function prefill(form, pairs) {
    var values = {};
    pairs.forEach(function (p) { (values[p[0]] = values[p[0]] || []).push(p[1]); });
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.name === "_csrf_token" || !(field.name in values)) return;
      var given = values[field.name];
      if (field.type === "checkbox" || field.type === "radio") field.checked = given.indexOf(field.value) !== -1;
      else if (field.type !== "submit" && field.type !== "button") field.value = given[0];
    });
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (box.name && !(box.name in values)) box.checked = false;
    });
  }

  // --- signing out -------------------------------------------------------------------------------

  function signOut() {
    var form = document.querySelector("form[action='/logout']");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      DB.items(me).then(function (items) {
        if (!items.length) return leave(form);
        var dialog = el("dialog", { id: "logout-warning", "class": "logout-warning" }, [
          el("p", { text: fill(T.logout_warning, { n: items.length }) }),
          el("p", { "class": "buttons" }, [
            el("button", { type: "button", "class": "primary", id: "logout-anyway", text: T.logout_anyway }),
            el("button", { type: "button", id: "logout-stay", autofocus: "", text: T.stay })
          ])
        ]);
        document.body.appendChild(dialog);
        dialog.querySelector("#logout-stay").addEventListener("click", function () { dialog.close(); dialog.remove(); });
        dialog.querySelector("#logout-anyway").addEventListener("click", function () { dialog.close(); dialog.remove(); leave(form); });
        dialog.showModal();
      });
    });
  }

  // The server ends the session first; only then does the device forget this user's traders and
  // pages. The outbox keeps this user's items for their next sign-in.
  function leave(form) {
    var bearer = null;
    DB.get("auth", me).then(function (row) {
      bearer = row && row.token;
      return csrfToken();
    }).then(function (csrf) {
      var body = new URLSearchParams(new FormData(form));
      body.set("_csrf_token", csrf);
      return fetch("/logout", { method: "POST", credentials: "same-origin", redirect: "manual", body: body });
    }).then(function (r) {
      if (r.type !== "opaqueredirect" && !r.ok) throw new Error("not signed out");
      var revoke = bearer ? fetch("/api/v1/session", { method: "DELETE", headers: { "Authorization": "Bearer " + bearer } })
        .catch(function () {}) : Promise.resolve();
      return revoke.then(function () { return forget(me); }).then(function () { return DB.remove("meta", "user"); })
        .then(function () { location.href = "/login"; });
    }).catch(function () { notice(T.logout_offline); });
  }

  function photoLimits() {
    if (new URLSearchParams(location.search).get("photo_too_large")) {
      notice(fill(T.photo_too_large, { mb: DB.PHOTO_MAX / 1048576, total: DB.PHOTOS_MAX / 1048576 }));
    }
  }

  // --- start -------------------------------------------------------------------------------------

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  claimDevice()
    .then(adaptCopy)
    .then(function () {
      refreshBadge();
      outboxPage();
      fixMode();
      localSearch();
      photoLimits();
      signOut();
      window.addEventListener("online", function () { refreshBadge(); flush(); });
      window.addEventListener("offline", refreshBadge);
      setInterval(flush, RETRY_EVERY);
      return flush();
    })
    .then(warm)
    .then(function () { document.documentElement.dataset.deviceReady = "1"; });
})();
