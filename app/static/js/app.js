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
