// Between's service worker, served at /sw.js so that it controls the whole site.
// Offline (app shell, cached client pages, the outbox's Background Sync) comes from the
// imported script; see app/static/js/sw-offline.js and app/routes/pwa.py.
importScripts("/sw-offline.js");

// ---- Push notifications ---------------------------------------------------------------
// The dispatcher's message (app/dispatch/payload.py) is Declarative Web Push: Safari 18.4+
// shows its `notification` by itself, even with this worker evicted; `mutable: true` hands
// it to this worker first where one runs, and every other browser always comes here:
//   {web_push: 8030, notification: {title, body, navigate, lang, tag, app_badge, mutable,
//    actions: [{action, title, navigate}]}, kind, reminder, occurrence, snooze}
// `snooze` is a signed token that proves which reminder this is (POST /push/snooze, and
// POST /push/seen, the "seen" beacon), so neither needs a cookie nor the CSRF token a worker
// cannot read.
//
// Buttons, in this order: "Log now", "Not today", "Snooze", as many as the platform shows
// (Notification.maxActions: two on Chromium and Firefox, none on Safari). Tapping the
// notification itself opens the record with all three snooze choices on the page.
(function () {
  "use strict";

  var SNOOZE_MINUTES = 30;

  function readPayload(event) {
    if (!event.data) { return {}; }
    try { return event.data.json() || {}; } catch (error) {
      try { return { notification: { body: event.data.text() } }; } catch (again) { return {}; }
    }
  }

  // A link of this site, whatever host the server wrote into it (the worker's own origin wins).
  function localPath(url, fallback) {
    try {
      var target = new URL(url || fallback, self.location.origin);
      return target.pathname + target.search;
    } catch (error) { return fallback; }
  }

  function actionsFor(note) {
    var most = (self.Notification && self.Notification.maxActions) || 0;
    return (note.actions || []).slice(0, most).map(function (item) {
      return { action: item.action, title: item.title };
    });
  }

  // Always show something: a push that shows nothing makes iOS revoke the subscription.
  self.addEventListener("push", function (event) {
    var data = readPayload(event);
    var note = data.notification || {};
    var links = {};
    (note.actions || []).forEach(function (item) { links[item.action] = localPath(item.navigate, "/c"); });
    var options = {
      body: note.body || "",
      tag: note.tag || "between",
      renotify: Boolean(note.tag),
      lang: note.lang || "",
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/icon-192.png",
      data: {
        url: localPath(note.navigate, "/c"),
        links: links,
        snooze: data.snooze || "",
        reminder: data.reminder || "",
        occurrence: data.occurrence || ""
      },
      actions: actionsFor(note)
    };
    var shown = self.registration.showNotification(note.title || "Between", options);
    var badge = Number(note.app_badge);
    if (note.app_badge !== undefined && !isNaN(badge) && self.navigator.setAppBadge) {
      shown = shown.then(function () { return self.navigator.setAppBadge(badge); }).catch(function () { return null; });
    }
    event.waitUntil(shown);
  });

  function sameOrigin(url) {
    var target = new URL(url || "/c", self.location.origin);
    return target.origin === self.location.origin ? target : new URL("/c", self.location.origin);
  }

  // Focus a window of Between that is already open (navigating it), or open one.
  function openPage(url) {
    var target = sameOrigin(url);
    return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i += 1) {
        var client = windows[i];
        if (new URL(client.url).origin === target.origin && "focus" in client) {
          return client.focus().then(function (focused) {
            return focused && "navigate" in focused ? focused.navigate(target.href) : focused;
          }).catch(function () { return self.clients.openWindow(target.href); });
        }
      }
      return self.clients.openWindow(target.href);
    });
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) { throw new Error(path + " refused: " + response.status); }
      return response;
    });
  }

  // The "seen" beacon: which reminder occurrence, proven by its token, and which device
  // (this browser's push endpoint, which only it and the server know). No content.
  function seen(data) {
    if (!data.snooze || !data.occurrence) { return Promise.resolve(null); }
    var manager = self.registration.pushManager;
    return (manager ? manager.getSubscription() : Promise.resolve(null))
      .catch(function () { return null; })
      .then(function (subscription) {
        return post("/push/seen", {
          token: data.snooze,
          occurrence: data.occurrence,
          endpoint: subscription ? subscription.endpoint : ""
        });
      })
      .catch(function () { return null; });  // opening the page counts too
  }

  function withSnoozeChoices(url, token) {
    var target = sameOrigin(url);
    if (token) { target.searchParams.set("snooze", token); }
    return target.href;
  }

  self.addEventListener("notificationclick", function (event) {
    var notification = event.notification;
    var data = notification.data || {};
    var links = data.links || {};
    notification.close();
    var action;
    if (event.action === "snooze" && data.snooze) {
      // Offline or refused: open the record with the snooze choices, so nothing is lost silently.
      action = post("/push/snooze", { token: data.snooze, minutes: SNOOZE_MINUTES }).catch(function () {
        return openPage(withSnoozeChoices(data.url, data.snooze));
      });
    } else if (event.action === "not-today" || event.action === "log") {
      action = openPage(links[event.action] || data.url);
    } else {
      action = openPage(withSnoozeChoices(data.url, data.snooze));
    }
    event.waitUntil(Promise.all([action, seen(data)]));
  });

  // The push service replaced this browser's subscription: subscribe again with the same
  // key and tell the server, proving who we are with the old endpoint (no cookie needed).
  self.addEventListener("pushsubscriptionchange", function (event) {
    var old = event.oldSubscription || null;
    var replaced = event.newSubscription ? Promise.resolve(event.newSubscription) : (function () {
      var key = old && old.options && old.options.applicationServerKey;
      var known = key ? Promise.resolve(key) : fetch("/push/public-key", { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (body) { return body.publicKey; });
      return known.then(function (applicationServerKey) {
        return self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: applicationServerKey });
      });
    })();
    event.waitUntil(replaced.then(function (subscription) {
      if (!old || !subscription) { return null; }  // the next visit to a page registers it (js/push.js)
      return fetch("/push/subscription-change", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ old_endpoint: old.endpoint, subscription: subscription.toJSON() })
      });
    }).catch(function () { return null; }));
  });
})();
