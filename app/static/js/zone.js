// The phone's time zone is the client's truth (app/services/phone_zone.py). Whenever Between
// opens, compare it with the zone the reminders follow; when they differ, the server either
// takes the phone's zone (the client's was not known yet) or answers with a question, shown
// at the top of the page: follow the phone, or "Not now" (remembered for a few days).
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (error) {
      return "";
    }
  }

  function phoneZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return ""; }
  }

  function check() {
    var box = document.querySelector("[data-zone-check]");
    var zone = phoneZone();
    if (!box || !zone) { return; }
    if (box.dataset.zone === zone && box.dataset.zoneKnown === "1") {
      box.dataset.zoneChecked = "same";
      return;
    }
    var body = new URLSearchParams();
    body.set("timezone", zone);
    body.set("next", window.location.pathname + window.location.search);
    fetch("/c/zone/phone", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      return response.status === 200 && response.headers.get("Between-Zone") === "ask" ? response.text() : "";
    }).then(function (html) {
      // Looked up again: an in-app link may have replaced the page meanwhile.
      var live = document.querySelector("[data-zone-check]");
      if (!live) { return; }
      if (html) {
        live.innerHTML = html;
        live.hidden = false;
        if (window.htmx) { window.htmx.process(live); }
      }
      live.dataset.zoneChecked = html ? "asked" : "quiet";
    }).catch(function () { /* offline: asked on a later open */ });
  }

  document.addEventListener("DOMContentLoaded", check);
})();
