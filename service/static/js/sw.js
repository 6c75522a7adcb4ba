// The service worker: keeps the volunteer's pages for use without a connection, and catches the
// forms sent when there is none (or when the server does not answer in time) into the outbox.
// Pages go to the network first; the copy kept on the device is used only when that fails.
// Sending the outbox is the pages' work (offline.js), with the signed-in user's token.
"use strict";
importScripts("/static/js/device-db.js");

var PAGES = "onboard-pages-v1";
var STATIC = "onboard-static-v1";
var PAGE_TIMEOUT = 6000;   // a page from the network, before the device's copy is shown
var FORM_TIMEOUT = 12000;  // a form sent, before it waits in the outbox instead
var ZERO = "00000000-0000-0000-0000-000000000000";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== PAGES && k !== STATIC; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Staff pages worth keeping on the device; everything else goes straight to the network.
var KEPT = [
  /^\/$/, /^\/worklist$/, /^\/merchants\/$/, /^\/merchants\/new$/, /^\/outbox$/, /^\/offline\//,
  new RegExp("^/merchants/" + DeviceDB.UUID_RE +
    "(/timeline|/visits/new|/stages/new|/payment-accounts/new|/payment-accounts/import)?$")
];

function kept(url) {
  return url.origin === self.location.origin && KEPT.some(function (re) { return re.test(url.pathname); });
}

function timeout(ms) {
  return new Promise(function (resolve) { setTimeout(function () { resolve("timeout"); }, ms); });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && request.mode === "navigate" && DeviceDB.formKind(url.pathname)) {
    event.respondWith(sendForm(request, url));
  } else if (request.method === "GET" && request.mode === "navigate") {
    event.respondWith(page(request, url));
  } else if (request.method === "GET" && url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staticFile(request));
  }
});

// --- pages ---------------------------------------------------------------------------------------

function page(request, url) {
  var network = fetch(request).then(function (response) {
    if (response.ok && !response.redirected && kept(url) && !url.search) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  });
  return Promise.race([network, timeout(PAGE_TIMEOUT)]).then(function (first) {
    if (first !== "timeout") return first;
    return fromDevice(url).then(function (copy) { return copy || network; });
  }).catch(function () {
    return fromDevice(url).then(function (copy) { return copy || offlinePage(); });
  });
}

// The device's copy of a page: the page itself, else the form without a trader (for a trader the
// tablet has not opened online, e.g. one registered offline), else the list without its query.
function fromDevice(url) {
  return caches.open(PAGES).then(function (cache) {
    var path = url.pathname;
    var shell = null;
    if (/\/visits\/new$/.test(path)) shell = "/offline/forms/visit";
    else if (/\/stages\/new$/.test(path)) shell = "/offline/forms/stage" + stageQuery(url);
    else if (/\/payment-accounts\/new$/.test(path)) shell = "/offline/forms/payment-account";
    else if (/\/payment-accounts\/import$/.test(path)) shell = "/offline/forms/payment-qr";
    var exact = url.search && shell ? Promise.resolve(undefined) : cache.match(path);
    return exact.then(function (hit) {
      if (hit) return [hit, false];
      if (!shell) return [undefined, false];
      return cache.match(shell).then(function (found) { return [found, true]; });
    }).then(function (found) {
      return found[0] ? marked(found[0], found[1]) : null;
    });
  });
}

function stageQuery(url) {
  var stage = url.searchParams.get("stage");
  var kind = url.searchParams.get("kind");
  if (!stage) return "";
  return "?stage=" + encodeURIComponent(stage) + (kind === "regressed" ? "&kind=regressed" : "");
}

// Tell the page it is the device's copy (and, for a form without a trader, that it is a shell).
function marked(response, shell) {
  return response.text().then(function (html) {
    var mark = '<body data-offline-copy="1"' + (shell ? ' data-offline-shell="1"' : "");
    return new Response(html.replace("<body", mark), {
      status: 200, headers: { "Content-Type": "text/html; charset=utf-8" }
    });
  });
}

function offlinePage() {
  return caches.open(PAGES).then(function (cache) { return cache.match("/offline/page"); })
    .then(function (hit) {
      return hit ? marked(hit, false) : new Response("<!doctype html><meta charset=utf-8><title>Offline</title><p>Không có mạng. / No connection.</p>",
        { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
    });
}

function staticFile(request) {
  return caches.open(STATIC).then(function (cache) {
    var network = fetch(request).then(function (response) {
      if (response.ok) cache.put(request, response.clone());
      return response;
    });
    return cache.match(request).then(function (hit) {
      if (hit) { network.catch(function () {}); return hit; }
      return network;
    });
  });
}

// --- forms ---------------------------------------------------------------------------------------

// A form goes to the server as usual. When the server cannot be reached, or does not answer in
// time, a form the outbox knows waits there (for the user signed in on this device), and the
// volunteer sees the outbox. The server's answer, when it comes, is the browser's as always.
function sendForm(request, url) {
  var copy = request.clone();
  var network = fetch(request);
  return Promise.race([network, timeout(FORM_TIMEOUT)]).then(function (first) {
    if (first !== "timeout") return first;
    network.catch(function () {});
    return keep(copy, url).then(function (kept) { return kept || network; });
  }).catch(function () {
    return keep(copy, url).then(function (kept) { return kept || offlinePage(); });
  });
}

function keep(request, url) {
  var kind = DeviceDB.formKind(url.pathname);
  if (!kind) return Promise.resolve(null);
  if (kind === "qr_photo") return keepPhoto(request, url);
  return Promise.all([request.formData(), DeviceDB.currentUser()]).then(function (got) {
    var pairs = [];
    got[0].forEach(function (value, name) { if (typeof value === "string") pairs.push([name, value]); });
    var owner = got[1];
    if (!owner) return null;
    var items = DeviceDB.itemsFromForm(url.pathname, pairs, owner, new Date());
    if (!items) return caches.open(PAGES).then(function (c) { return c.match(url.pathname); })
      .then(function (hit) { return hit ? marked(hit, false) : null; });
    return labelled(items, owner).then(function () {
      return DeviceDB.items(owner).then(function (existing) {
        // The same form sent twice (a double tap) is kept once.
        var id = clientId(items[0]);
        var same = existing.filter(function (e) { return e.kind === items[0].kind && clientId(e) === id; })[0];
        if (same) return same;
        return items.reduce(function (chain, item) {
          return chain.then(function () { return DeviceDB.put("outbox", item); });
        }, Promise.resolve()).then(function () { return items[0]; });
      });
    }).then(function (item) {
      return Response.redirect("/outbox?saved=" + item.id, 303);
    });
  });
}

function keepPhoto(request, url) {
  return Promise.all([request.formData(), DeviceDB.currentUser()]).then(function (got) {
    var owner = got[1];
    var photo = got[0].getAll("image").filter(function (f) { return typeof f !== "string" && f.size > 0; })[0];
    if (!owner || !photo) return null;  // a pasted text needs no photo kept: the server reads it
    return DeviceDB.items(owner).then(function (existing) {
      var kept = existing.reduce(function (sum, i) { return sum + (i.photo ? i.photo.size : 0); }, 0);
      if (photo.size > DeviceDB.PHOTO_MAX || kept + photo.size > DeviceDB.PHOTOS_MAX) {
        return Response.redirect(url.pathname + "?photo_too_large=1", 303);
      }
      var item = DeviceDB.photoItem(url.pathname, photo, owner, new Date());
      return labelled([item], owner).then(function () { return DeviceDB.put("outbox", item); })
        .then(function () { return Response.redirect("/outbox?saved=" + item.id, 303); });
    });
  });
}

function clientId(item) { return item.body.id || item.body.client_event_id; }

// The trader's name on each item: from the form, the device's list, or a registration waiting.
function labelled(items, owner) {
  return Promise.all([DeviceDB.get("data", owner), DeviceDB.items(owner)]).then(function (got) {
    var traders = (got[0] && got[0].traders) || [];
    var waiting = got[1];
    items.forEach(function (item) {
      if (item.label || !item.merchant_id || item.merchant_id === ZERO) return;
      var known = traders.filter(function (t) { return t.id === item.merchant_id; })[0] ||
        waiting.filter(function (w) { return w.kind === "merchant" && w.merchant_id === item.merchant_id; })
          .map(function (w) { return { business_name: w.label }; })[0];
      item.label = known ? known.business_name : "";
    });
  });
}
