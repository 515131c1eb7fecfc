// Small progressive enhancements; the pages work without them.
(function () {
  "use strict";

  // A boosted link swaps only the <body>. Every stylesheet is linked from base.html, so a page
  // needs nothing its <head> adds; should one ever ask for a stylesheet or script this document
  // lacks (another area of the app, a new release), it is loaded whole instead of unstyled.
  function headAssets(doc) {
    return Array.prototype.map.call(doc.querySelectorAll("head link[rel=stylesheet], head script[src]"),
      function (node) { return node.getAttribute("href") || node.getAttribute("src"); });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var text = detail.xhr ? detail.xhr.responseText : "";
    if (!detail.boosted || !detail.shouldSwap || text.indexOf("<head") === -1) { return; }
    var incoming = new DOMParser().parseFromString(text, "text/html");
    var have = headAssets(document);
    var missing = headAssets(incoming).filter(function (url) { return have.indexOf(url) === -1; });
    if (!missing.length) { return; }
    if (detail.requestConfig && detail.requestConfig.verb === "get") {
      detail.shouldSwap = false;
      window.location.assign(detail.xhr.responseURL || detail.pathInfo.finalRequestPath);
      return;
    }
    // The answer to a form cannot be asked for again: bring in its stylesheets.
    incoming.querySelectorAll("head link[rel=stylesheet]").forEach(function (link) {
      if (missing.indexOf(link.getAttribute("href")) !== -1) { document.head.appendChild(link.cloneNode()); }
    });
  });

  // A form sent back with its errors (any error status, swapped in by the responseHandling in
  // base.html): the cursor goes to the first field to fix, whose message it then reads out;
  // without such a field, to the alert that says what went wrong.
  function focusFirstError() {
    var target = document.querySelector("main [aria-invalid=true]") ||
      document.querySelector("main [role=alert]");
    if (!target) { return; }
    if (!target.matches("input, select, textarea, button, [tabindex]")) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.status >= 400) { focusFirstError(); }
  });
  // The same when a form that is not boosted comes back with its errors.
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("main [data-error-summary]")) { focusFirstError(); }
  });

  // Confirm destructive actions declared with data-confirm (no inline script under our CSP).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // A chosen emotion opens its slider and may move to a row of its own: keep it, slider
  // included, in view instead of under the pinned Save row (WCAG 2.4.11, focus not obscured).
  document.addEventListener("change", function (event) {
    var box = event.target instanceof Element ? event.target.closest(".emotion") : null;
    if (box && event.target.checked) { box.scrollIntoView({ block: "nearest" }); }
  });

  // A re-rating ("how strong are those feelings now?") lists only the feelings picked above.
  function showRerated(root) {
    (root || document).querySelectorAll("[data-rerates]").forEach(function (box) {
      var form = box.closest("form");
      if (!form) { return; }
      var picked = {};
      form.querySelectorAll('input[type="checkbox"][name="' + box.dataset.rerates + '"]').forEach(function (input) {
        if (input.checked) { picked[input.value] = true; }
      });
      var any = false;
      box.querySelectorAll(".emotion[data-emotion]").forEach(function (emotion) {
        var shown = picked[emotion.dataset.emotion] === true;
        emotion.hidden = !shown;
        any = any || shown;
        if (!shown) { emotion.querySelectorAll('input[type="checkbox"]').forEach(function (input) { input.checked = false; }); }
      });
      var none = box.parentElement ? box.parentElement.querySelector("[data-rerate-none]") : null;
      if (none) { none.hidden = any; }
    });
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "checkbox" && document.querySelector('[data-rerates="' + input.name + '"]')) {
      showRerated(input.form || document);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { showRerated(document); });
  document.addEventListener("htmx:afterSettle", function (event) { showRerated(event.target); });

  // A slider shows its number beside it, and tells screen readers the same ("70 of 100").
  function showValue(input) {
    var row = input.closest(".slider-row");
    var shown = row ? row.querySelector("output.slider-value") : null;
    if (shown) { shown.textContent = input.value; }
    if (input.dataset.valuetext) { input.setAttribute("aria-valuetext", input.dataset.valuetext.replace("{value}", input.value)); }
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.hasAttribute("data-shows-value")) { showValue(input); }
  });
  // A form put back to its first values (a reset, or an entry kept offline) shows those.
  document.addEventListener("reset", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    window.setTimeout(function () { form.querySelectorAll("input[data-shows-value]").forEach(showValue); }, 0);
  });

  // The page's language with the phone's region: en-GB writes 6 Dec 2026, en-US Dec 6, 2026,
  // es 6 dic 2026. The phone's own tag when it speaks the page's language, else the language.
  function dateLocale() {
    var lang = (document.documentElement.lang || "").toLowerCase();
    var tags = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    for (var i = 0; i < tags.length; i += 1) {
      if (tags[i] && tags[i].toLowerCase().split("-")[0] === lang) { return tags[i]; }
    }
    return lang || undefined;
  }
  window.BetweenDateLocale = dateLocale;

  function enhance(root) {
    root.querySelectorAll("input[data-shows-value]").forEach(showValue);
    // Fill in the browser's time zone where a form asks for it.
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    root.querySelectorAll("[data-detect-timezone]").forEach(function (input) {
      if (zone) { input.value = zone; }
    });
    root.querySelectorAll("[data-timezone-input]").forEach(function (input) {
      if (zone && input.value === "UTC" && zone !== "UTC") { input.placeholder = zone; }
    });
    // Show times in the reader's own time zone, written the way their phone writes dates.
    root.querySelectorAll("time[data-local-time]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when)) {
        node.textContent = when.toLocaleString(dateLocale(), { dateStyle: "medium", timeStyle: "short" });
      }
    });
  }

  // The invitation page: copy or share the invite link where the browser can (the link stays
  // visible and selectable everywhere else).
  function inviteShare(root) {
    var box = root.querySelector ? root.querySelector("[data-invite-share]") : null;
    if (!box || box.dataset.ready) { return; }
    box.dataset.ready = "1";
    var link = box.dataset.link;
    var status = document.querySelector("[data-share-status]");
    function say(text) { if (status) { status.textContent = text || ""; } }
    var copy = box.querySelector("[data-copy-link]");
    if (copy && navigator.clipboard && window.isSecureContext) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(link).then(function () {
          say(box.dataset.msgCopied);
        }, function () {
          say(box.dataset.msgCopyFailed);
        });
      });
    }
    var share = box.querySelector("[data-share-link]");
    if (share && navigator.share) {
      share.hidden = false;
      share.addEventListener("click", function () {
        navigator.share({ title: box.dataset.shareTitle, text: box.dataset.shareText, url: link })
          .catch(function () { /* closed without sharing */ });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () { inviteShare(document); });
  document.addEventListener("htmx:afterSwap", function (event) { inviteShare(event.target); });

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();
