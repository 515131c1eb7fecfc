// Reminders on this phone: Web Push subscription from a button press (browsers, and people,
// dislike a permission prompt nobody asked for), the device list, and keeping the server's
// copy of this phone's subscription current. Every word shown comes from data attributes
// the server rendered in the person's language ([data-push-setup]).
(function () {
  "use strict";

  var STORED_ID = "between-push-id";
  var STORED_ENDPOINT = "between-push-endpoint";
  // Set when the person removed this device from their reminders: then nothing renews it.
  var STORED_OFF = "between-push-off";
  // A browser's push service may never answer (no connection to it, a blocked network):
  // after this long the person is told, and can try again.
  var TIMEOUT_MS = 20000;

  function Failure(kind) {
    this.kind = kind;
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = window.setTimeout(function () { reject(new Failure("timeout")); }, ms);
      promise.then(function (value) {
        window.clearTimeout(timer);
        resolve(value);
      }, function (error) {
        window.clearTimeout(timer);
        reject(error);
      });
    });
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (error) {
      return "";
    }
  }

  function remember(key, value) {
    try {
      if (value) { window.localStorage.setItem(key, value); } else { window.localStorage.removeItem(key); }
    } catch (error) { /* private mode: the page still works, it just re-registers more often */ }
  }

  function recall(key) {
    try { return window.localStorage.getItem(key) || ""; } catch (error) { return ""; }
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function isIos() {
    var ua = window.navigator.userAgent || "";
    return /iPad|iPhone|iPod/.test(ua) || (window.navigator.platform === "MacIntel" && window.navigator.maxTouchPoints > 1);
  }

  function isStandalone() {
    return window.navigator.standalone === true ||
      (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches);
  }

  // The VAPID public key (base64url) as the bytes pushManager.subscribe wants.
  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "====".slice((base64.length % 4) || 4);
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function base64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i += 1) { raw += String.fromCharCode(bytes[i]); }
    return window.btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Subscribed with the server's VAPID key? A subscription made with an older key (the server's
  // keys were replaced) is accepted by its push service but every message to it is refused.
  function sameKey(subscription, publicKey) {
    var key = subscription.options && subscription.options.applicationServerKey;
    if (!key) { return true; }  // the browser does not say: nothing to compare
    return base64url(key) === publicKey.replace(/=+$/, "");
  }

  function serverKey() {
    var setup = document.querySelector("[data-push-setup]");
    if (setup && setup.dataset.publicKey) { return Promise.resolve(setup.dataset.publicKey); }
    return fetch("/push/public-key", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Failure("server"); }
        return response.json();
      }).then(function (body) { return body.publicKey; });
  }

  // This browser's subscription, made afresh when there is none, when it was made with another
  // key, or when `fresh` asks for a new one (a device that takes reminders without showing them).
  function currentSubscription(publicKey, fresh) {
    return navigator.serviceWorker.ready.then(function (registration) {
      var manager = registration.pushManager;
      return manager.getSubscription().then(function (existing) {
        if (existing && !fresh && sameKey(existing, publicKey)) { return existing; }
        var gone = existing ? existing.unsubscribe().catch(function () { return false; }) : Promise.resolve(true);
        return gone.then(function () {
          return manager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
        });
      });
    });
  }

  // After a new subscription is registered, the server forgets the one it replaced.
  function forget(oldId, newId) {
    if (!oldId || oldId === newId) { return Promise.resolve(null); }
    return fetch("/api/v1/push/subscriptions/" + encodeURIComponent(oldId), {
      method: "DELETE",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() }
    }).catch(function () { return null; });  // already gone, or offline: the sweep prunes it
  }

  // Opened from a reminder: its link names the occurrence. Told to the server with the
  // subscription, it shows reminders appear on this device (the silent-device rule).
  function fromReminder() {
    return /[?&]occurrence=/.test(window.location.search);
  }

  function register(subscription) {
    var body = subscription.toJSON ? subscription.toJSON() : subscription;
    if (fromReminder()) { body.from_reminder = true; }
    return withTimeout(fetch("/api/v1/push/subscriptions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    }).catch(function () {
      throw new Failure("network");  // fetch rejects only when the server cannot be reached
    }), TIMEOUT_MS).then(function (response) {
      if (!response.ok) { throw new Failure(response.status === 401 || response.status === 403 ? "signin" : "server"); }
      return response.json();
    }).then(function (device) {
      remember(STORED_ID, device.id);
      remember(STORED_ENDPOINT, subscription.endpoint);
      remember(STORED_OFF, "");
      return device;
    });
  }

  function refreshDevices() {
    var card = document.querySelector("[data-delivery-health]");
    if (card && window.htmx) {
      return window.htmx.ajax("GET", "/c/reminders/health", { target: card, swap: "outerHTML" });
    }
    return Promise.resolve();
  }

  function markThisDevice(root) {
    var id = recall(STORED_ID);
    (root || document).querySelectorAll("[data-subscription-id]").forEach(function (row) {
      var mine = row.getAttribute("data-subscription-id") === id;
      var mark = row.querySelector("[data-this-device]");
      if (mark) { mark.hidden = !mine; }
      // Setting a device up again can only be done on that device.
      var renewButton = row.querySelector("[data-push-renew]");
      if (renewButton) { renewButton.hidden = !(mine && supported()); }
    });
  }

  function subscribe(setup) {
    // Each step may hang (a service worker that never starts, a push service that never
    // answers): the whole of it is given TIMEOUT_MS.
    return withTimeout(currentSubscription(setup.dataset.publicKey, false), TIMEOUT_MS).catch(function (error) {
      if (error instanceof Failure) { throw error; }
      // The browser's own refusals: notifications blocked, or its push service failed.
      if (error && error.name === "NotAllowedError") { throw new Failure("denied"); }
      throw new Failure(navigator.onLine === false ? "network" : "service");
    });
  }

  // What went wrong, and what to do about it, in the person's words.
  function failureMessage(words, error) {
    var kind = error instanceof Failure ? error.kind : "";
    if (kind === "denied") { return words.msgDenied; }
    if (kind === "timeout") { return words.msgTimeout; }
    if (kind === "network") { return words.msgOffline; }
    if (kind === "service") { return words.msgService; }
    if (kind === "signin") { return words.msgSignin; }
    return words.msgFailed;
  }

  function setUp(setup) {
    var status = setup.querySelector("[data-push-status]");
    var button = setup.querySelector("[data-push-enable]");
    var words = setup.dataset;
    function say(text) { if (status) { status.textContent = text || ""; } }

    if (!button) { return; }
    if (!supported()) {
      say(isIos() && !isStandalone() ? words.msgIos : words.msgUnsupported);
      if (isIos() && !isStandalone()) {
        // The steps to add Between to the home screen (the install hint shown by client.js).
        var hint = document.querySelector("[data-ios-install]");
        if (hint) {
          hint.hidden = false;
          var steps = setup.querySelector("[data-ios-steps]");
          if (steps) { steps.hidden = false; }
        }
      }
      return;
    }
    say("");
    button.hidden = false;
    if (Notification.permission === "denied") { say(words.msgDenied); }

    button.addEventListener("click", function () {
      if (navigator.onLine === false) {
        say(words.msgOffline);
        return;
      }
      button.disabled = true;
      say(words.msgWorking);
      // Asked only here, from the person's own tap.
      Promise.resolve(Notification.requestPermission()).then(function (permission) {
        if (permission !== "granted") {
          say(permission === "denied" ? words.msgDenied : words.msgDismissed);
          return null;
        }
        // A subscription made with another key is replaced here too: the server forgets it.
        return registerReplacing(subscribe(setup)).then(function () {
          say(words.msgOn);
          return refreshDevices();
        });
      }).catch(function (error) {
        say(failureMessage(words, error));
      }).then(function () {
        button.disabled = false;
      });
    });

    // Already on (keepAlive below keeps the server's copy current).
    if (Notification.permission === "granted") {
      navigator.serviceWorker.ready.then(function (registration) {
        return registration.pushManager.getSubscription();
      }).then(function (subscription) {
        if (subscription) { say(words.msgOn); }
      }).catch(function () { /* the button still works */ });
    }
  }

  // Register the subscription `subscribing` resolves to and, when it replaced this browser's
  // earlier one, have the server forget that. Resolves to whether anything changed.
  function registerReplacing(subscribing) {
    var oldId = recall(STORED_ID);
    var oldEndpoint = recall(STORED_ENDPOINT);
    return subscribing.then(function (subscription) {
      return register(subscription).then(function (device) {
        var changed = subscription.endpoint !== oldEndpoint;
        return (changed ? forget(oldId, device.id) : Promise.resolve(null)).then(function () { return changed; });
      });
    });
  }

  // Replace this browser's subscription where needed (`fresh`: always) and tell the server.
  function renew(fresh) {
    return registerReplacing(withTimeout(serverKey().then(function (publicKey) {
      return currentSubscription(publicKey, fresh);
    }), TIMEOUT_MS));
  }

  // On every opening of Between (a whole page load; htmx swaps are not new openings): where
  // reminders were allowed, check that the subscription exists, was made with the server's
  // key and is known to the server, and renew it silently if not. Opened from a reminder, the
  // registration also says so (`fromReminder`).
  function keepAlive() {
    if (!supported() || Notification.permission !== "granted" || recall(STORED_OFF)) { return; }
    renew(false).then(function (changed) {
      return changed ? refreshDevices() : null;
    }).catch(function () { /* silently: the next opening tries again */ });
  }

  // "Set up this device again", on a device that takes reminders without showing them.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-push-renew]") : null;
    if (!button || !supported()) { return; }
    var card = button.closest("[data-silent-device]");
    var status = card ? card.querySelector("[data-push-renew-status]") : null;
    var words = button.dataset;
    var setupStatus = document.querySelector("[data-push-setup] [data-push-status]");
    function say(text) { if (status) { status.textContent = text; } }
    button.disabled = true;
    say(words.msgWorking);
    Promise.resolve(Notification.requestPermission()).then(function (permission) {
      if (permission !== "granted") { throw new Failure("denied"); }
      return renew(true);
    }).then(function () {
      // The card is replaced by a fresh one: the outcome stays said beside the setup button.
      if (setupStatus) { setupStatus.textContent = words.msgDone; }
      say(words.msgDone);
      return refreshDevices();
    }).catch(function () {
      say(words.msgFailed);
      button.disabled = false;
    });
  });

  // Removing this phone from the list also ends its subscription in the browser.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target;
    var row = form && form.closest && form.closest("[data-subscription-id]");
    if (!row || row.getAttribute("data-subscription-id") !== recall(STORED_ID) || !supported()) { return; }
    remember(STORED_ID, "");
    remember(STORED_ENDPOINT, "");
    remember(STORED_OFF, "1");
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      var setup = document.querySelector("[data-push-setup]");
      var status = setup && setup.querySelector("[data-push-status]");
      if (status) { status.textContent = setup.dataset.msgRemoved; }
      return subscription ? subscription.unsubscribe() : null;
    }).catch(function () { /* already gone */ });
  });

  // A time zone other than this phone's: offer the phone's with one tap.
  function offerZone(root) {
    var input = root.querySelector("input[data-timezone-input]");
    var offer = root.querySelector("[data-zone-offer]");
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { zone = ""; }
    if (!input || !offer || !zone || input.value === zone) { return; }
    offer.hidden = false;
    var name = offer.querySelector("[data-zone-name]");
    if (name) { name.textContent = zone; }
    var use = offer.querySelector("[data-use-zone]");
    if (use) {
      use.addEventListener("click", function () {
        input.value = zone;
        offer.hidden = true;
        input.focus();
      });
    }
  }

  function enhance(root) {
    var setup = root.querySelector ? root.querySelector("[data-push-setup]") : null;
    if (setup && !setup.dataset.ready && setup.dataset.publicKey) {
      setup.dataset.ready = "1";
      setUp(setup);
    }
    if (root.querySelector) {
      markThisDevice(root);
      offerZone(root);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    keepAlive();
  });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
  document.addEventListener("htmx:afterSettle", function () { markThisDevice(document); });
})();
