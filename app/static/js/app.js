// Small progressive enhancements; the pages work without them.
(function () {
  "use strict";

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

  function enhance(root) {
    // Fill in the browser's time zone where a form asks for it.
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    root.querySelectorAll("[data-detect-timezone]").forEach(function (input) {
      if (zone) { input.value = zone; }
    });
    root.querySelectorAll("[data-timezone-input]").forEach(function (input) {
      if (zone && input.value === "UTC" && zone !== "UTC") { input.placeholder = zone; }
    });
    // Show times in the reader's own time zone.
    root.querySelectorAll("time[data-local-time]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when)) {
        node.textContent = when.toLocaleString(document.documentElement.lang || undefined,
          { dateStyle: "medium", timeStyle: "short" });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();
