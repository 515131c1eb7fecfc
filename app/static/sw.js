// Between's service worker, served at /sw.js so that it controls the whole site.
// Offline (app shell, cached client pages, the outbox's Background Sync) comes from the
// imported script; see app/static/js/sw-offline.js and app/routes/pwa.py.
importScripts("/sw-offline.js");

// ---- Push notifications ---------------------------------------------------------------
// Reminder `push` and `notificationclick` handlers belong here (see app/dispatch/).
