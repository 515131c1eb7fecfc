// Offline part of the service worker, imported by /sw.js. The server puts one line before
// this file: self.BETWEEN_SW = {version, shell: {plain name: hashed URL}, offline, locked, core}.
//
// - The app shell (hashed CSS/JS/icons, /offline and /locked) is precached per version;
//   activating a new version deletes the old shell caches. Entries waiting to be sent live in
//   IndexedDB, not in a cache, so an update never touches them.
// - Client pages (/c...) are fetched from the network first and kept, so Today and the
//   record forms open with no network; other pages fall back to /offline. A page is kept
//   under its path, never its query, except the "Not today, because…" check-in page, which
//   is kept per record and day (see pageKey): the note, voice note and who sees it, offline.
// - The app PIN holds offline too: every client page says how long the device stays
//   unlocked if unused (the Between-Lock-In header, "never" without a PIN). Past that
//   moment no kept page is shown: they are deleted and /locked answers instead, until the
//   server has seen the PIN again. Online, pages still come from the server (the PIN page).
// - Background Sync ("between-outbox") sends the outbox when the connection is back.
(function () {
  "use strict";

  var CONFIG = self.BETWEEN_SW;
  importScripts(CONFIG.core);

  var SHELL_PREFIX = "between-shell-";
  var SHELL_CACHE = SHELL_PREFIX + CONFIG.version;
  // Not versioned: a page cached before a deploy still opens offline after it (its old
  // asset URLs are answered with the current files, see staticAsset).
  var PAGES_CACHE = "between-pages";
  var SYNC_TAG = "between-outbox";
  // What the last client page said about the app PIN (see noteLock).
  var LOCK_CACHE = "between-lock";
  var LOCK_KEY = "/sw-lock-state";
  var LOCK_HEADER = "Between-Lock-In";
  var CLOCK_SLACK_MS = 60 * 1000;
  var HASHED = /^\/static\/(.+)\.[0-9a-f]{10}(\.[^./]+)?$/;
  var MATCH = { ignoreVary: true, ignoreSearch: true };

  var shellUrls = Object.keys(CONFIG.shell).map(function (name) { return CONFIG.shell[name]; });

  self.addEventListener("install", function (event) {
    event.waitUntil(
      caches.open(SHELL_CACHE).then(function (cache) {
        var requests = shellUrls.concat([CONFIG.offline, CONFIG.locked]).map(function (url) {
          return new Request(url, { cache: "reload", credentials: "same-origin" });
        });
        return cache.addAll(requests);
      }).then(function () { return self.skipWaiting(); })
    );
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf(SHELL_PREFIX) === 0 && name !== SHELL_CACHE;
        }).map(function (name) { return caches.delete(name); }));
      }).then(function () {
        return sweepLocked().catch(function () { return null; });
      }).then(function () { return self.clients.claim(); }).then(function () {
        // Entries that waited through the update are sent by the new worker too.
        return self.BetweenOutbox.sync().catch(function () { return null; });
      })
    );
  });

  function isClientPage(url) {
    return url.pathname === "/c" || url.pathname.indexOf("/c/") === 0;
  }

  function plainName(pathname) {
    var match = HASHED.exec(pathname);
    return match ? match[1] + (match[2] || "") : null;
  }

  function staticAsset(request, url) {
    return caches.match(request, MATCH).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).catch(function (error) {
        // An older cached page asks for an older hash: answer with today's file of that name.
        var current = CONFIG.shell[plainName(url.pathname)];
        return (current ? caches.match(current, MATCH) : Promise.resolve(undefined)).then(function (fallback) {
          if (fallback) { return fallback; }
          throw error;
        });
      });
    });
  }

  function forgetPages() {
    return caches.delete(PAGES_CACHE);
  }

  // ---- The app PIN, offline ----------------------------------------------------------
  // The state is kept in a cache, as the worker may be stopped at any moment:
  // {pin: false} or {pin: true, noted: ms, deadline: ms}, in this device's clock.

  function noteLock(value) {
    var now = Date.now();
    var seconds = parseInt(value, 10);
    var state = value === "never" ? { pin: false, noted: now } : {
      pin: true, noted: now, deadline: now + (isNaN(seconds) ? 0 : Math.max(0, seconds)) * 1000
    };
    var body = new Response(JSON.stringify(state), { headers: { "Content-Type": "application/json" } });
    return caches.open(LOCK_CACHE).then(function (cache) {
      return cache.put(LOCK_KEY, body);
    }).then(function () { return state; });
  }

  function lockState() {
    return caches.open(LOCK_CACHE).then(function (cache) {
      return cache.match(LOCK_KEY);
    }).then(function (hit) {
      return hit ? hit.json() : null;
    }).catch(function () { return null; });
  }

  function isLocked(state) {
    if (!state || !state.pin) { return false; }
    var now = Date.now();
    // A clock set back to well before the server last spoke does not open the pages again.
    return now >= state.deadline || now < state.noted - CLOCK_SLACK_MS;
  }

  // Once the PIN is due the kept pages go, whenever the worker runs (not only when one is asked for).
  function sweepLocked() {
    return lockState().then(function (state) {
      return isLocked(state) ? forgetPages() : null;
    });
  }

  // /locked (and /offline) are kept in the language of the day they were fetched: a client
  // page in another language brings a fresh copy.
  function freshLockPage(response) {
    var language = response.headers.get("Content-Language");
    if (!language) { return Promise.resolve(); }
    return caches.open(SHELL_CACHE).then(function (cache) {
      return cache.match(CONFIG.locked, MATCH).then(function (hit) {
        if (hit && hit.headers.get("Content-Language") === language) { return null; }
        var paths = [CONFIG.locked, CONFIG.offline];
        return Promise.all(paths.map(function (path) {
          return fetch(new Request(path, { cache: "reload", credentials: "same-origin" })).then(function (fresh) {
            return fresh.ok && !fresh.redirected ? cache.put(path, fresh) : null;
          });
        }));
      });
    }).catch(function () { return null; });
  }

  // ---- Pages ----------------------------------------------------------------------------

  var CHECKIN_PAGE = "/c/barriers/new";
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var DAY = /^\d{4}-\d{2}-\d{2}$/;

  // Where a page is kept: its path; a check-in page for one record and one named day under
  // both (anything else in its query, such as a reminder's occurrence, is left out). Null:
  // not kept (a query that says which page it is, which the path alone would confuse).
  function pageKey(url) {
    if (url.pathname === CHECKIN_PAGE && url.search) {
      var assignment = url.searchParams.get("assignment") || "";
      var day = url.searchParams.get("day") || "";
      if (!UUID.test(assignment) || !DAY.test(day)) { return null; }
      return CHECKIN_PAGE + "?assignment=" + assignment.toLowerCase() + "&day=" + day;
    }
    return url.search ? null : url.pathname;
  }

  function keepable(url, response) {
    var html = (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
    return html && response.status === 200 && pageKey(url) !== null;
  }

  function keepPage(url, copy) {
    return caches.open(PAGES_CACHE).then(function (cache) { return cache.put(pageKey(url), copy); });
  }

  // A kept check-in page is found by its record and day exactly; other pages by their path,
  // whatever their query ("/c?told=1" is Today).
  function matchPage(cache, url) {
    var key = pageKey(url);
    if (key !== null && key.indexOf("?") !== -1) { return cache.match(key, { ignoreVary: true }); }
    return cache.match(url.pathname, MATCH);
  }

  // A client page from the server: note what it says about the PIN, then keep it for
  // offline use. Signed out (redirected to sign in), or the PIN asked for (redirected to
  // the PIN page, or the PIN page itself): the kept pages must not show the records to
  // whoever holds the phone, so they go. A page that says nothing of the PIN is not kept.
  function notePage(url, response) {
    var lock = response.headers.get(LOCK_HEADER);
    var moved = response.type === "opaqueredirect" || response.redirected;
    // Copied now, before the page reads the body.
    var copy = !moved && lock !== null && keepable(url, response) ? response.clone() : null;
    var noted = lock === null ? Promise.resolve(null) : noteLock(lock);
    return noted.then(function (state) {
      if (moved || isLocked(state)) { return forgetPages(); }
      if (!state) { return null; }
      return Promise.all([copy ? keepPage(url, copy) : null, freshLockPage(response)]);
    });
  }

  function shellPage(path) {
    return caches.match(path, MATCH).then(function (hit) { return hit || Response.error(); });
  }

  function cachedPage(url) {
    if (!isClientPage(url)) { return shellPage(CONFIG.offline); }
    return lockState().then(function (state) {
      // Kept by an older worker, which did not know the PIN's deadline: not shown.
      if (!state) { return forgetPages().then(function () { return shellPage(CONFIG.offline); }); }
      if (isLocked(state)) {
        return forgetPages().then(function () { return shellPage(CONFIG.locked); });
      }
      return caches.open(PAGES_CACHE).then(function (cache) {
        return matchPage(cache, url);
      }).then(function (hit) { return hit || shellPage(CONFIG.offline); });
    });
  }

  function page(event, request, url) {
    return fetch(request).then(function (response) {
      if (isClientPage(url)) { event.waitUntil(notePage(url, response)); }
      return response;
    }, function () {
      return cachedPage(url);
    });
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") { return; }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) { return; }
    if (url.pathname.indexOf("/static/") === 0) {
      event.respondWith(staticAsset(request, url));
      return;
    }
    if (url.pathname.indexOf("/api/") === 0) { return; }  // never cached: live data, private audio
    var boosted = request.headers.get("HX-Boosted") === "true";
    var fragment = request.headers.get("HX-Request") === "true" && !boosted;
    if (fragment) { return; }  // a piece of a page is no page to keep or to serve offline
    if (request.mode === "navigate" || boosted) {
      event.respondWith(page(event, request, url));
    }
  });

  // Keep the pages a client will want offline (Today's record forms, the check-in page of
  // Today's question) without visiting each.
  function warm(urls) {
    return caches.open(PAGES_CACHE).then(function (cache) {
      return Promise.all(urls.map(function (path) {
        var url = new URL(path, self.location.origin);
        var key = pageKey(url);
        if (url.origin !== self.location.origin || !isClientPage(url) || key === null) { return null; }
        return matchPage(cache, url).then(function (hit) {
          if (hit) { return null; }
          return fetch(key, { credentials: "same-origin" }).then(function (response) {
            return notePage(url, response);
          }).catch(function () { return null; });
        });
      }));
    });
  }

  self.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "warm" && Array.isArray(data.urls)) {
      event.waitUntil(warm(data.urls.slice(0, 50)));
    } else if (data.type === "forget-pages") {
      event.waitUntil(forgetPages());
    } else if (data.type === "sync") {
      event.waitUntil(self.BetweenOutbox.sync({ force: true }).catch(function () { return null; }));
    }
  });

  self.addEventListener("sync", function (event) {
    if (event.tag !== SYNC_TAG) { return; }
    // Sending works behind the lock (it reveals nothing stored); kept pages do not outlive it.
    event.waitUntil(sweepLocked().catch(function () { return null; }).then(function () {
      return self.BetweenOutbox.sync({ force: true });
    }).then(function (summary) {
      // Rejecting asks the browser to fire the sync again later, with its own backoff.
      if (summary.stopped === "network") { throw new Error("still offline"); }
    }));
  });
})();
