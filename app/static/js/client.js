// The client's phone app: service worker, offline-first record forms and check-ins, the waiting list on
// Today, install hints. Every word shown comes from data attributes the server rendered
// in the person's language ([data-client-strings]); the pages work without this script.
(function () {
  "use strict";

  var Outbox = window.BetweenOutbox;
  var SYNC_TAG = "between-outbox";
  var retryTimer = null;
  var retryAt = 0;  // when retryTimer fires

  function strings() {
    var node = document.querySelector("[data-client-strings]");
    return node ? node.dataset : {};
  }

  function csrfToken() {
    // The lock page is kept for days: its token may be older than the one the outbox has.
    if (document.querySelector("[data-offline-lock]")) { return ""; }
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (error) {
      return "";
    }
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // ---- Time: the form's "when it happened" is wall-clock time in the client's zone -------

  function zoneParts(date, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(date).forEach(function (part) { parts[part.type] = part.value; });
    return parts;
  }

  function localInputValue(date, zone) {
    try {
      var p = zoneParts(date, zone);
      return p.year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute;
    } catch (error) {
      var shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
      return shifted.toISOString().slice(0, 16);
    }
  }

  function zoneOffsetMs(instant, zone) {
    var p = zoneParts(new Date(instant), zone);
    var wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return wall - Math.floor(instant / 1000) * 1000;
  }

  // "2026-03-01T21:30" in Europe/Madrid -> the instant, as ISO 8601 with its offset (Z).
  function zonedToIso(value, zone) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
    if (!m) { return null; }
    var guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    try {
      var first = guess - zoneOffsetMs(guess, zone);
      var instant = guess - zoneOffsetMs(first, zone);  // again, in case DST starts or ends in between
      return new Date(instant).toISOString();
    } catch (error) {
      var local = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
      return isNaN(local) ? null : local.toISOString();
    }
  }

  // ---- Record form -> the API's JSON, by the same rules as answers_from_form ----------

  function fieldType(form, name) {
    var input = form.querySelector('[name="' + name.replace(/"/g, '\\"') + '"]');
    var field = input && input.closest(".field");
    var match = field && /\bfield-([a-z_]+)\b/.exec(field.className);
    return match ? match[1] : "";
  }

  function answersOf(form) {
    var data = new FormData(form);
    var answers = {};
    var seen = {};
    data.forEach(function (value, name) {
      if (name.indexOf("a.") !== 0 || seen[name]) { return; }
      seen[name] = true;
      var key = name.slice(2);
      if (key.indexOf(".") !== -1) { return; }  // an emotion's intensity, read with its emotion
      var type = fieldType(form, name);
      if (type === "multi_choice") {
        var picked = data.getAll(name).map(String);
        if (picked.length) { answers[key] = picked; }
      } else if (type === "emotion") {
        var chosen = {};
        data.getAll(name).forEach(function (emotion) {
          chosen[emotion] = String(data.get(name + "." + emotion) || "50");
        });
        if (Object.keys(chosen).length) { answers[key] = chosen; }
      } else if (typeof value === "string" && value.trim() !== "") {
        answers[key] = value;
      }
    });
    return answers;
  }

  function entryOf(form, nothing) {
    var zone = form.dataset.timezone || "UTC";
    var when = form.elements.occurred_at;
    var occurred;
    if (!when || !when.value || when.value === when.dataset.nowValue) {
      occurred = new Date().toISOString();  // untouched: it happened now
    } else {
      occurred = zonedToIso(when.value, zone) || new Date().toISOString();
    }
    var visibility = form.querySelector('[name="visibility"]:checked');
    return {
      id: form.elements.entry_id.value,
      assignment_id: form.elements.assignment_id.value,
      template_version_id: form.elements.template_version_id.value,
      answers: nothing ? {} : answersOf(form),
      nothing_to_report: !!nothing,
      visibility: visibility ? visibility.value : "shared",
      occurred_at: occurred
    };
  }

  function voiceIdsOf(form) {
    return Array.prototype.slice.call(form.querySelectorAll("[data-voice-input]"))
      .map(function (input) { return input.dataset.recordedId === input.value ? input.value : ""; })
      .filter(Boolean);
  }

  function freshForm(form) {
    // A page served from the cache carries the id of the day it was cached: every new
    // entry gets its own id here, and "when it happened" starts at now.
    form.elements.entry_id.value = uuid();
    var when = form.elements.occurred_at;
    if (when) {
      var now = localInputValue(new Date(), form.dataset.timezone || "UTC");
      when.value = now;
      when.max = now;
      when.dataset.nowValue = now;
    }
  }

  function setStatus(form, text, kind) {
    var status = form.querySelector("[data-outbox-status]");
    if (!status) { return; }
    status.textContent = text;
    status.dataset.kind = kind || "";
    // A live region (role=status) says it; on screen it is in the pinned Save row, or brought into view.
    if (text && typeof status.scrollIntoView === "function") { status.scrollIntoView({ block: "nearest" }); }
  }

  function showFieldErrors(form, errors) {
    form.querySelectorAll(".field-error[data-from-outbox]").forEach(function (node) { node.remove(); });
    form.querySelectorAll(".field.has-error").forEach(function (node) { node.classList.remove("has-error"); });
    Object.keys(errors || {}).forEach(function (key) {
      var input = form.querySelector('[name="a.' + key.replace(/"/g, "") + '"]');
      var field = input && input.closest(".field");
      if (!field) { return; }
      field.classList.add("has-error");
      var note = document.createElement("p");
      note.className = "field-error";
      note.dataset.fromOutbox = "";
      note.textContent = errors[key];
      field.appendChild(note);
    });
  }

  function setBusy(form, busy) {
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = busy; });
  }

  function requestBackgroundSync() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync && typeof registration.sync.register === "function") {
        return registration.sync.register(SYNC_TAG);
      }
    }).catch(function () { /* no Background Sync here: online/visibility/load do it */ });
  }

  function submitRecord(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-new-entry") || !Outbox || !Outbox.supported) {
      return;
    }
    event.preventDefault();
    if (form.dataset.busy) { return; }
    form.dataset.busy = "1";
    var s = strings();
    var submitter = event.submitter;
    var nothing = !!(submitter && submitter.name === "nothing_to_report");
    var body = entryOf(form, nothing);
    var item = { id: body.id, body: body, voice: nothing ? [] : voiceIdsOf(form), title: form.dataset.title || "" };
    setBusy(form, true);
    setStatus(form, "", "");
    Outbox.setToken(csrfToken()).then(function () {
      return Outbox.add(item);
    }).then(function () {
      // Said as soon as it is true; "waiting" once the form is ready for the next entry.
      setStatus(form, s.savedOffline, "saving");
      requestBackgroundSync();
      return Outbox.sync({ force: true });
    }).then(function () {
      return Outbox.get(item.id);
    }).then(function (left) {
      if (!left) {
        window.location.assign("/c?saved=1");
        return;
      }
      if (left.state === "rejected") {
        // The person is still looking at the form: the answers stay in it to fix, the
        // outbox lets go of them (a corrected entry is a new send under the same id).
        showFieldErrors(form, left.errors);
        setStatus(form, left.detail || s.rejected, "error");
        return Outbox.remove(item.id);
      }
      // Kept on this phone until the connection is back: ready for the next entry.
      form.reset();
      document.dispatchEvent(new CustomEvent("between:form-reset", { detail: { form: form } }));
      freshForm(form);
      setStatus(form, s.savedOffline, "waiting");
      scheduleRetry();
    }).catch(function () {
      setStatus(form, s.notSaved, "error");
    }).then(function () {
      delete form.dataset.busy;
      setBusy(form, false);
    });
  }

  // ---- "Not today, because…": a check-in goes through the outbox like an entry ----------

  function field(form, name) {
    var input = form.elements.namedItem(name);
    return input && typeof input.value === "string" ? input.value : "";
  }

  function checkinOf(form, submitter) {
    var didIt = !!(submitter && submitter.name === "did_it");
    var reason = !didIt && submitter && submitter.name === "reason" ? submitter.value : null;
    var visibility = form.querySelector('[name="visibility"]:checked');
    return {
      id: field(form, "id"),
      assignment_id: field(form, "assignment"),
      day: field(form, "day"),
      reason: reason,
      did_it_unrecorded: didIt,
      note: field(form, "note"),
      visibility: visibility ? visibility.value : "shared",
      // Recorded on this phone (js/voice.js): uploaded by the outbox just before the check-in.
      voice_note_id: field(form, "voice_note") || null
    };
  }

  // Kept on the phone: the reasons make way for a warm word that it will be sent.
  function showCheckinWaiting(form, id) {
    form.dataset.waitingFor = id;
    form.querySelectorAll("fieldset, details").forEach(function (node) { node.hidden = true; });
    var section = form.closest("[data-barrier-prompt]");
    var more = section && section.querySelector("[data-barrier-more]");
    if (more) { more.hidden = true; }
    setStatus(form, strings().checkinWaiting, "waiting");
  }

  function showCheckinForm(form) {
    delete form.dataset.waitingFor;
    form.querySelectorAll("fieldset, details").forEach(function (node) { node.hidden = false; });
    var section = form.closest("[data-barrier-prompt]");
    var more = section && section.querySelector("[data-barrier-more]");
    if (more) { more.hidden = false; }
  }

  // Today, opened from the phone while a check-in waits (or once it has gone): the question
  // it answered is not asked again.
  // The check-in page, left open while its check-in waited: said once it has gone.
  function markCheckinPage() {
    var forms = Array.prototype.filter.call(
      document.querySelectorAll("form[data-barrier-form][data-waiting-for]"),
      function (form) { return !form.closest("[data-barrier-prompt]"); }
    );
    if (!forms.length || !Outbox || !Outbox.supported) { return; }
    Outbox.list().then(function (items) {
      forms.forEach(function (form) {
        if (!items.some(function (item) { return item.id === form.dataset.waitingFor; })) {
          setStatus(form, strings().checkinSent, "sent");
        }
      });
    });
  }

  function markCheckins(items) {
    document.querySelectorAll("[data-barrier-prompt]").forEach(function (section) {
      var form = section.querySelector("form[data-barrier-form]");
      if (!form) { return; }
      var waiting = items.filter(function (item) {
        return item.kind === "barrier" && item.state === "pending" &&
          item.body.assignment_id === section.dataset.assignment && item.body.day === section.dataset.day;
      })[0];
      if (waiting) {
        showCheckinWaiting(form, waiting.id);
      } else if (form.dataset.waitingFor && !items.some(function (item) { return item.id === form.dataset.waitingFor; })) {
        setStatus(form, strings().checkinSent, "sent");
      }
    });
  }

  function submitCheckin(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-barrier-form") || !Outbox || !Outbox.supported) {
      return;
    }
    event.preventDefault();
    if (form.dataset.busy) { return; }
    form.dataset.busy = "1";
    var s = strings();
    var body = checkinOf(form, event.submitter);
    var item = {
      id: body.id, kind: "barrier", body: body, voice: voiceIdsOf(form), title: form.dataset.outboxTitle || ""
    };
    setBusy(form, true);
    setStatus(form, "", "");
    Outbox.setToken(csrfToken()).then(function () {
      return Outbox.add(item);
    }).then(function () {
      requestBackgroundSync();
      return Outbox.sync({ force: true });
    }).then(function () {
      return Outbox.get(item.id);
    }).then(function (left) {
      if (!left) {
        window.location.assign("/c?told=1");
        return;
      }
      if (left.state === "rejected") {
        // Said on the form, where it can be changed; the phone lets go of it.
        showCheckinForm(form);
        setStatus(form, left.detail || s.checkinRejected, "error");
        return Outbox.remove(item.id);
      }
      showCheckinWaiting(form, item.id);
      scheduleRetry();
    }).catch(function () {
      setStatus(form, s.notSaved, "error");
    }).then(function () {
      delete form.dataset.busy;
      setBusy(form, false);
    });
  }

  // ---- Sending what waits ---------------------------------------------------------------

  // One timer, for the soonest turn. A later round may need an earlier one than the timer
  // set: a try made offline backs off for minutes, and one entry failing just after coming
  // back online must not wait that long (nor hold back the ones behind it).
  function scheduleRetry() {
    if (!Outbox) { return; }
    Outbox.list().then(function (items) {
      var times = items.filter(function (item) { return item.state === "pending"; })
        .map(function (item) { return item.nextTry || Date.now(); });
      if (!times.length) { return; }
      var at = Math.max(Date.now() + 1000, Math.min.apply(Math, times));
      if (retryTimer && retryAt <= at) { return; }
      window.clearTimeout(retryTimer);
      retryAt = at;
      retryTimer = window.setTimeout(function () {
        retryTimer = null;
        syncNow(false);
      }, at - Date.now());
    });
  }

  function syncNow(force) {
    if (!Outbox || !Outbox.supported) { return Promise.resolve(); }
    return Outbox.setToken(csrfToken()).then(function () {
      return Outbox.sync({ force: force });
    }).then(function (summary) {
      // Whatever is still pending (failed now, or skipped while backing off) gets its turn.
      scheduleRetry();
      return summary;
    }).catch(function () { scheduleRetry(); });
  }

  // ---- Today: what is waiting on this phone ----------------------------------------------

  function renderOutbox() {
    var section = document.querySelector("[data-outbox-list]");
    if (!section || !Outbox || !Outbox.supported) { return; }
    var s = strings();
    Outbox.list().then(function (items) {
      var list = section.querySelector("ul");
      list.textContent = "";
      items.forEach(function (item) {
        var row = document.createElement("li");
        row.className = "outbox-item" + (item.state === "rejected" ? " rejected" : "");
        row.dataset.outboxItem = item.id;
        var checkin = item.kind === "barrier";
        var title = document.createElement("strong");
        title.textContent = item.title || (checkin ? s.checkin : s.entry);
        var when = document.createElement("span");
        when.className = "muted";
        var locale = window.BetweenDateLocale ? window.BetweenDateLocale() : (document.documentElement.lang || undefined);
        // A check-in is about a day; an entry about a moment.
        var at = new Date(checkin ? item.body.day + "T12:00:00" : item.body.occurred_at);
        var style = checkin ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
        when.textContent = " " + (isNaN(at) ? "" : at.toLocaleString(locale, style));
        var state = document.createElement("p");
        state.className = "outbox-state";
        if (item.state === "rejected") {
          state.textContent = (item.detail || (checkin ? s.checkinRejected : s.rejected));
        } else if (item.problem === "auth") {
          state.textContent = s.signInToSend;
        } else {
          state.textContent = s.waiting;
        }
        row.appendChild(title);
        row.appendChild(when);
        row.appendChild(state);
        if (item.state === "rejected") {
          var remove = document.createElement("button");
          remove.type = "button";
          remove.className = "button small secondary";
          remove.textContent = s.remove;
          remove.addEventListener("click", function () { Outbox.remove(item.id); });
          row.appendChild(remove);
        }
        list.appendChild(row);
      });
      section.hidden = items.length === 0;
      section.dataset.count = String(items.length);
      markCheckins(items);
    });
  }

  // ---- Service worker, cached pages, install hints -------------------------------------

  function registerWorker() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* the site works without it */ });
    navigator.serviceWorker.ready.then(function (registration) {
      var links = ["/c"];
      // Today's question links its check-in page (a note, a voice note, who sees it): kept
      // too, so the whole check-in works offline like a record form.
      document.querySelectorAll("a.task[href^='/c/record/'], a[href^='/c/barriers/new?']").forEach(function (link) {
        links.push(link.getAttribute("href"));
      });
      if (navigator.onLine && registration.active) {
        registration.active.postMessage({ type: "warm", urls: links });
      }
    });
  }

  function isStandalone() {
    return window.navigator.standalone === true ||
      (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches);
  }

  function isIos() {
    var ua = window.navigator.userAgent || "";
    return /iPad|iPhone|iPod/.test(ua) || (window.navigator.platform === "MacIntel" && window.navigator.maxTouchPoints > 1);
  }

  var installPrompt = null;

  function installHints(root) {
    var ios = root.querySelector("[data-ios-install]");
    var dismissed = false;
    try { dismissed = window.localStorage.getItem("between-ios-hint") === "dismissed"; } catch (error) { dismissed = false; }
    if (ios && isIos() && !isStandalone() && !dismissed) {
      ios.hidden = false;
      var close = ios.querySelector("[data-dismiss]");
      if (close) {
        close.addEventListener("click", function () {
          ios.hidden = true;
          try { window.localStorage.setItem("between-ios-hint", "dismissed"); } catch (error) { /* private mode */ }
        });
      }
    }
    var button = root.querySelector("[data-install]");
    if (button && installPrompt && !isStandalone()) {
      button.hidden = false;
      button.onclick = function () {
        var prompt = installPrompt;
        installPrompt = null;
        button.hidden = true;
        prompt.prompt();
      };
    }
  }

  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    installPrompt = event;
    installHints(document);
  });

  // Today knows how many records are still due today: the app's badge shows that number, and
  // clears when none are (a reminder's badge is only a floor; Badging API where present).
  function showBadge(root) {
    var holder = root.querySelector ? root.querySelector("[data-app-badge]") : null;
    if (!holder || !navigator.setAppBadge) { return; }
    var count = Number(holder.getAttribute("data-app-badge")) || 0;
    (count > 0 ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(function () { return null; });
  }

  function enhance(root) {
    showBadge(root);
    root.querySelectorAll("form[data-new-entry]").forEach(function (form) {
      if (!form.dataset.outboxReady) {
        form.dataset.outboxReady = "1";
        freshForm(form);
      }
    });
    root.querySelectorAll("form[data-barrier-form]").forEach(function (form) {
      // A page kept offline repeats the id it was served with: each check-in gets its own.
      var id = form.elements.namedItem("id");
      if (!form.dataset.outboxReady && id) {
        form.dataset.outboxReady = "1";
        id.value = uuid();
      }
    });
    renderOutbox();
    installHints(root);
  }

  document.addEventListener("submit", submitRecord);
  document.addEventListener("submit", submitCheckin);
  document.addEventListener("submit", function (event) {
    // Signing out: the pages kept for offline use show records; they leave with the person.
    var form = event.target;
    if (form instanceof HTMLFormElement && form.getAttribute("action") === "/signout" &&
        navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
    }
  }, true);

  // A boosted link that cannot reach the server becomes a real navigation, which the
  // service worker answers from its cache.
  document.addEventListener("htmx:sendError", function (event) {
    var detail = event.detail || {};
    var path = detail.pathInfo && detail.pathInfo.requestPath;
    if (detail.boosted && path && (!detail.requestConfig || detail.requestConfig.verb === "get")) {
      window.location.assign(path);
    }
  });

  if (Outbox) {
    Outbox.onChange(function () { renderOutbox(); markCheckinPage(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    registerWorker();
    enhance(document);
    syncNow(true);
  });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
  window.addEventListener("online", function () { syncNow(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { syncNow(true); }
  });
})();
