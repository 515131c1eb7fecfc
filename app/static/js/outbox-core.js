// The outbox: entries and "Not today, because…" check-ins (and their voice notes), kept on
// this device until the server has them.
// Loaded by the client pages (<script>) and by the service worker (importScripts), so a page,
// a reconnect and a Background Sync all send the same way. Nothing here shows text: pages
// turn the states into words from the strings the server rendered.
//
// Why nothing is lost or doubled: an item leaves IndexedDB only after the server answered
// 200/201 for its id; every resend carries the same id and the same body, and the server
// stores an id once (same id and content again -> 200). Voice notes go first, with their own
// client-made ids, idempotent the same way.
(function (global) {
  "use strict";

  var DB_NAME = "between";
  var DB_VERSION = 1;
  var OUTBOX = "outbox";
  var VOICE = "voice";
  var META = "meta";
  var LOCK = "between-outbox";
  var CHANNEL = "between-outbox";
  var ENTRIES_URL = "/api/v1/entries";
  var VOICE_URL = "/api/v1/voice-notes";
  var BARRIERS_URL = "/api/v1/barriers";
  // What an item is decides where it goes; nothing stored names its own address.
  var URLS = { entry: ENTRIES_URL, barrier: BARRIERS_URL };
  var REQUEST_TIMEOUT_MS = 30000;
  var UPLOAD_TIMEOUT_MS = 120000;
  var MAX_BACKOFF_MS = 5 * 60 * 1000;
  // A recording never attached to a saved entry (the form was abandoned) is dropped after this.
  var ORPHAN_VOICE_MS = 2 * 24 * 60 * 60 * 1000;
  // Answers the person must act on: sending again would get the same answer.
  var REJECTED = [400, 404, 409, 410, 413, 415, 422];

  var supported = typeof indexedDB !== "undefined" && typeof fetch === "function";
  var dbPromise = null;
  var listeners = [];
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(OUTBOX)) { db.createObjectStore(OUTBOX, { keyPath: "id" }); }
        if (!db.objectStoreNames.contains(VOICE)) { db.createObjectStore(VOICE, { keyPath: "id" }); }
        if (!db.objectStoreNames.contains(META)) { db.createObjectStore(META, { keyPath: "key" }); }
      };
      request.onsuccess = function () {
        var db = request.result;
        // A newer worker upgrading the schema must not be blocked by this older page.
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      request.onerror = function () { dbPromise = null; reject(request.error); };
    });
    return dbPromise;
  }

  // One transaction; resolves when it is committed (for writes: on disk, "strict"), so
  // "saved on this phone" is only said once it is true.
  function run(stores, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var options = mode === "readwrite" ? { durability: "strict" } : undefined;
        var tx = db.transaction(stores, mode, options);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
        work(tx, function (value) { result = value; });
      });
    });
  }

  function getAll(store) {
    return run([store], "readonly", function (tx, done) {
      var request = tx.objectStore(store).getAll();
      request.onsuccess = function () { done(request.result || []); };
    });
  }

  function getOne(store, key) {
    return run([store], "readonly", function (tx, done) {
      var request = tx.objectStore(store).get(key);
      request.onsuccess = function () { done(request.result); };
    });
  }

  function putOne(store, value) {
    return run([store], "readwrite", function (tx) { tx.objectStore(store).put(value); });
  }

  function deleteOne(store, key) {
    return run([store], "readwrite", function (tx) { tx.objectStore(store).delete(key); });
  }

  function notify(detail) {
    var message = detail || { type: "changed" };
    listeners.forEach(function (listener) {
      try { listener(message); } catch (error) { /* one broken listener must not stop the others */ }
    });
    if (channel) { channel.postMessage(message); }
  }

  if (channel) {
    channel.onmessage = function (event) {
      listeners.forEach(function (listener) {
        try { listener(event.data); } catch (error) { /* as above */ }
      });
    };
  }

  function offline() {
    return Boolean(global.navigator) && global.navigator.onLine === false;
  }

  function backoff(attempts) {
    var base = Math.min(MAX_BACKOFF_MS, 2000 * Math.pow(2, Math.max(0, attempts - 1)));
    return Math.round(base * (0.5 + Math.random() / 2));
  }

  function withLock(work) {
    // Two tabs and the worker may all try at once: one sends, the others wait their turn
    // (the server would cope anyway, but there is no need to send twice).
    var locks = global.navigator && global.navigator.locks;
    if (locks && typeof locks.request === "function") {
      return locks.request(LOCK, work);
    }
    return work();
  }

  function post(url, body, token, json, timeout) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, timeout) : null;
    var headers = { "Accept": "application/json", "X-CSRF-Token": token || "" };
    if (json) { headers["Content-Type"] = "application/json"; }
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: headers,
      body: body,
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) { clearTimeout(timer); }
      return response;
    }, function (error) {
      if (timer) { clearTimeout(timer); }
      throw error;
    });
  }

  function outcomeOf(response) {
    var status = response.status;
    if (status === 200 || status === 201) { return Promise.resolve({ kind: "sent", status: status }); }
    if (status === 401 || status === 403) { return Promise.resolve({ kind: "auth", status: status }); }
    if (REJECTED.indexOf(status) === -1) {
      var wait = parseInt(response.headers.get("Retry-After") || "", 10);
      return Promise.resolve({ kind: "retry", status: status, retryAfterMs: isNaN(wait) ? 0 : wait * 1000 });
    }
    return response.text().then(function (text) {
      var problem = {};
      try { problem = JSON.parse(text) || {}; } catch (error) { problem = { detail: text }; }
      return { kind: "rejected", status: status, detail: problem.detail || "", errors: problem.errors || null };
    });
  }

  function uploadVoice(id, token) {
    return getOne(VOICE, id).then(function (note) {
      if (!note || note.uploaded || !note.blob) { return { kind: "sent", status: 200 }; }
      var form = new FormData();
      form.append("id", id);
      if (note.seconds) { form.append("seconds", String(note.seconds)); }
      form.append("file", note.blob, "voice-note");
      return post(VOICE_URL, form, token, false, UPLOAD_TIMEOUT_MS).then(outcomeOf).then(function (outcome) {
        if (outcome.kind !== "sent") { return outcome; }
        // The server has it: keep the record that it was sent, not the audio.
        note.uploaded = true;
        note.blob = null;
        return putOne(VOICE, note).then(function () { return outcome; });
      });
    });
  }

  function sendItem(item, token) {
    var voices = (item.voice || []).slice();
    function next() {
      if (!voices.length) {
        var url = URLS[item.kind || "entry"] || ENTRIES_URL;
        return post(url, JSON.stringify(item.body), token, true, REQUEST_TIMEOUT_MS).then(outcomeOf);
      }
      return uploadVoice(voices.shift(), token).then(function (outcome) {
        return outcome.kind === "sent" ? next() : outcome;
      });
    }
    return next();
  }

  function removeItem(item) {
    return run([OUTBOX, VOICE], "readwrite", function (tx) {
      tx.objectStore(OUTBOX).delete(item.id);
      (item.voice || []).forEach(function (id) { tx.objectStore(VOICE).delete(id); });
    });
  }

  function dropOrphanVoices(items) {
    var referenced = {};
    items.forEach(function (item) { (item.voice || []).forEach(function (id) { referenced[id] = true; }); });
    return getAll(VOICE).then(function (notes) {
      var cutoff = Date.now() - ORPHAN_VOICE_MS;
      var stale = notes.filter(function (note) { return !referenced[note.id] && (note.createdAt || 0) < cutoff; });
      if (!stale.length) { return; }
      return run([VOICE], "readwrite", function (tx) {
        stale.forEach(function (note) { tx.objectStore(VOICE).delete(note.id); });
      });
    });
  }

  function syncLocked(force) {
    var summary = { sent: 0, rejected: 0, waiting: 0, stopped: null };
    var now = Date.now();
    return Promise.all([getOne(META, "csrf"), getAll(OUTBOX)]).then(function (found) {
      var token = found[0] ? found[0].value : "";
      var items = found[1].filter(function (item) { return item.state === "pending"; });
      items.sort(function (a, b) { return (a.createdAt || 0) - (b.createdAt || 0); });
      var index = 0;
      function step() {
        if (index >= items.length) { return dropOrphanVoices(found[1]); }
        var item = items[index++];
        if (!force && item.nextTry && item.nextTry > now) { summary.waiting++; return step(); }
        return sendItem(item, token).then(null, function () {
          return { kind: "retry", status: 0, retryAfterMs: 0 };  // no network, or it timed out
        }).then(function (outcome) {
          if (outcome.kind === "sent") {
            summary.sent++;
            return removeItem(item).then(step);
          }
          if (outcome.kind === "rejected") {
            summary.rejected++;
            item.state = "rejected";
            item.status = outcome.status;
            item.detail = outcome.detail;
            item.errors = outcome.errors;
            return putOne(OUTBOX, item).then(step);
          }
          // Retry later: no network, a server hiccup, or no valid session. The later items
          // would meet the same fate, so this round ends here and keeps the order.
          item.problem = outcome.kind === "auth" ? "auth" : "network";
          if (offline()) {
            // Tries while the device says it is offline do not make the wait longer: coming
            // back online sends at once, and a hiccup then must not wait minutes.
            item.nextTry = Date.now() + MAX_BACKOFF_MS;
          } else {
            item.attempts = (item.attempts || 0) + 1;
            item.nextTry = Date.now() + Math.max(outcome.retryAfterMs || 0, backoff(item.attempts));
          }
          summary.stopped = item.problem;
          summary.waiting += items.length - index + 1;
          return putOne(OUTBOX, item);
        });
      }
      return step();
    }).then(function () {
      notify({ type: "synced", summary: summary });
      return summary;
    });
  }

  var api = {
    supported: supported,
    ENTRIES_URL: ENTRIES_URL,
    BARRIERS_URL: BARRIERS_URL,

    onChange: function (listener) { listeners.push(listener); },

    setToken: function (token) {
      return token ? putOne(META, { key: "csrf", value: token }) : Promise.resolve();
    },

    // Store an entry (or a check-in: `kind: "barrier"`) for sending; resolves once it is
    // safely on the device.
    add: function (item) {
      item.state = "pending";
      item.attempts = 0;
      item.createdAt = item.createdAt || Date.now();
      return putOne(OUTBOX, item).then(function () { notify({ type: "added", id: item.id }); });
    },

    list: function () {
      return getAll(OUTBOX).then(function (items) {
        return items.sort(function (a, b) { return (a.createdAt || 0) - (b.createdAt || 0); });
      });
    },

    get: function (id) { return getOne(OUTBOX, id); },

    remove: function (id) {
      return getOne(OUTBOX, id).then(function (item) {
        return item ? removeItem(item) : undefined;
      }).then(function () { notify({ type: "removed", id: id }); });
    },

    // Keep a recording on the device until its entry is sent.
    putVoice: function (note) {
      note.createdAt = note.createdAt || Date.now();
      note.uploaded = false;
      return putOne(VOICE, note);
    },

    dropVoice: function (id) {
      return getOne(VOICE, id).then(function (note) {
        return note && !note.uploaded ? deleteOne(VOICE, id) : undefined;
      });
    },

    // Upload one recording now (the edit form, which is sent the classic way, needs it first).
    uploadVoice: function (id) {
      return getOne(META, "csrf").then(function (meta) {
        return uploadVoice(id, meta ? meta.value : "");
      });
    },

    // Send what waits. `force` ignores the backoff (the person is back online, or looking).
    sync: function (options) {
      if (!supported) { return Promise.resolve({ sent: 0, rejected: 0, waiting: 0, stopped: null }); }
      var force = !!(options && options.force);
      return withLock(function () { return syncLocked(force); });
    }
  };

  global.BetweenOutbox = api;
})(typeof self !== "undefined" ? self : this);
