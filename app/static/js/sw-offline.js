// Offline part of the service worker, imported by /sw.js. The server puts one line before
// this file: self.BETWEEN_SW = {version, shell: {plain name: hashed URL}, offline, core}.
//
// - The app shell (hashed CSS/JS/icons and /offline) is precached per version; activating a
//   new version deletes the old shell caches. Entries waiting to be sent live in IndexedDB,
//   not in a cache, so an update never touches them.
// - Client pages (/c...) are fetched from the network first and kept, so Today and the
//   record forms open with no network; other pages fall back to /offline.
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
  var HASHED = /^\/static\/(.+)\.[0-9a-f]{10}(\.[^./]+)?$/;
  var MATCH = { ignoreVary: true, ignoreSearch: true };

  var shellUrls = Object.keys(CONFIG.shell).map(function (name) { return CONFIG.shell[name]; });

  self.addEventListener("install", function (event) {
    event.waitUntil(
      caches.open(SHELL_CACHE).then(function (cache) {
        var requests = shellUrls.concat([CONFIG.offline]).map(function (url) {
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

  function keepPage(url, response) {
    var html = (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
    if (!html || response.status !== 200 || url.search) { return Promise.resolve(); }
    var copy = response.clone();
    return caches.open(PAGES_CACHE).then(function (cache) { return cache.put(url.pathname, copy); });
  }

  function cachedPage(url) {
    var lookup = isClientPage(url)
      ? caches.open(PAGES_CACHE).then(function (cache) { return cache.match(url.pathname, MATCH); })
      : Promise.resolve(undefined);
    return lookup.then(function (hit) {
      return hit || caches.match(CONFIG.offline, MATCH);
    }).then(function (hit) { return hit || Response.error(); });
  }

  function page(event, request, url) {
    return fetch(request).then(function (response) {
      if (isClientPage(url)) {
        if (response.type === "opaqueredirect" || response.redirected) {
          // Signed out, or the app lock asks for the PIN: cached pages must not show the
          // records to whoever holds the phone, so they go.
          event.waitUntil(forgetPages());
        } else {
          event.waitUntil(keepPage(url, response));
        }
      }
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

  // Keep the pages a client will want offline (Today's record forms) without visiting each.
  function warm(urls) {
    return caches.open(PAGES_CACHE).then(function (cache) {
      return Promise.all(urls.map(function (path) {
        var url = new URL(path, self.location.origin);
        if (url.origin !== self.location.origin || !isClientPage(url)) { return null; }
        return cache.match(url.pathname, MATCH).then(function (hit) {
          if (hit) { return null; }
          return fetch(url.pathname, { credentials: "same-origin" }).then(function (response) {
            if (response.redirected) { return forgetPages(); }
            return keepPage(url, response);
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
    event.waitUntil(self.BetweenOutbox.sync({ force: true }).then(function (summary) {
      // Rejecting asks the browser to fire the sync again later, with its own backoff.
      if (summary.stopped === "network") { throw new Error("still offline"); }
    }));
  });
})();
