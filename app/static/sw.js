// Between's service worker, served at /sw.js so that it controls the whole site.
// Offline (app shell, cached client pages, the outbox's Background Sync) comes from the
// imported script; see app/static/js/sw-offline.js and app/routes/pwa.py.
importScripts("/sw-offline.js");

// ---- Push notifications ---------------------------------------------------------------
// The dispatcher's payload (app/dispatch/dispatcher.py, Dispatcher.payload) is JSON:
//   {title, body, url, tag, reminder, occurrence, snooze, actions: {log, snooze, snooze15, ...}}
// where `snooze` is a signed token that proves which reminder this is (POST /push/snooze), so
// snoozing needs neither a cookie nor the CSRF token a worker cannot read.
//
// Actions: Chromium and Firefox show at most two buttons (Notification.maxActions), Safari
// none. So the buttons are "Log now" and "Snooze 30 min" (plus 15 and 60 min where more fit);
// tapping the notification itself opens the record with all three snooze choices on the page.
(function () {
  "use strict";

  var SNOOZE_CHOICES = [15, 30, 60];

  function readPayload(event) {
    if (!event.data) { return {}; }
    try { return event.data.json() || {}; } catch (error) {
      try { return { body: event.data.text() }; } catch (again) { return {}; }
    }
  }

  function actionsFor(data) {
    var words = data.actions || {};
    var most = (self.Notification && self.Notification.maxActions) || 0;
    var actions = [];
    if (words.log) { actions.push({ action: "log", title: words.log }); }
    if (data.snooze && most >= 4) {
      SNOOZE_CHOICES.forEach(function (minutes) {
        var title = words["snooze" + minutes];
        if (title) { actions.push({ action: "snooze-" + minutes, title: title }); }
      });
    } else if (data.snooze && words.snooze30) {
      actions.push({ action: "snooze-30", title: words.snooze30 });
    }
    return actions.slice(0, Math.max(most, 2));
  }

  // Always show something: a push that shows nothing makes iOS revoke the subscription.
  self.addEventListener("push", function (event) {
    var data = readPayload(event);
    var options = {
      body: data.body || "",
      tag: data.tag || "between",
      renotify: Boolean(data.tag),
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/icon-192.png",
      data: { url: data.url || "/c", snooze: data.snooze || "", reminder: data.reminder || "" },
      actions: actionsFor(data)
    };
    event.waitUntil(self.registration.showNotification(data.title || "Between", options));
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

  function snooze(token, minutes) {
    return fetch("/push/snooze", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ token: token, minutes: minutes })
    }).then(function (response) {
      if (!response.ok) { throw new Error("snooze refused: " + response.status); }
      return response;
    });
  }

  function withSnoozeChoices(url, token) {
    var target = sameOrigin(url);
    if (token) { target.searchParams.set("snooze", token); }
    return target.href;
  }

  self.addEventListener("notificationclick", function (event) {
    var notification = event.notification;
    var data = notification.data || {};
    notification.close();
    var match = /^snooze-(\d+)$/.exec(event.action || "");
    if (match && data.snooze) {
      // Offline or refused: open the record with the snooze choices, so nothing is lost silently.
      event.waitUntil(snooze(data.snooze, Number(match[1])).catch(function () {
        return openPage(withSnoozeChoices(data.url, data.snooze));
      }));
      return;
    }
    if (event.action === "log") {
      event.waitUntil(openPage(data.url));
      return;
    }
    event.waitUntil(openPage(withSnoozeChoices(data.url, data.snooze)));
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
