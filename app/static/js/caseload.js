// The therapist's caseload, enhanced: search as you type, sort the table by a column in
// place, and tell the server the therapist's time zone (for today's sessions). Without
// this script the page does the same through its search form and the header buttons
// (GET /t?q=…&sort=…); the order here matches the server's (app/web/presenters/caseload.py).
(function () {
  "use strict";

  var ZONE_COOKIE = "between_tz";

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  // As the server folds names (caseload_view.fold): lower case, accents dropped.
  function fold(text) {
    return text.toLowerCase().replace(/ß/g, "ss").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").trim();
  }

  function setParam(name, value) {
    var url = new URL(window.location.href);
    if (value) { url.searchParams.set(name, value); } else { url.searchParams.delete(name); }
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }

  // The therapist's zone, kept in a cookie the caseload reads. When the page was drawn in
  // another zone (the first visit from this browser), it is drawn again once, in this one.
  function rememberZone(root) {
    var today = root.querySelector("[data-today-zone]");
    if (!today) { return; }
    var zone = browserZone();
    if (!zone) { return; }
    var cookie = ZONE_COOKIE + "=" + encodeURIComponent(zone);
    if (document.cookie.split(/;\s*/).indexOf(cookie) === -1) {
      document.cookie = cookie + "; path=/t; max-age=31536000; samesite=lax";
    }
    if (today.getAttribute("data-today-zone") !== zone && !window.__betweenZoneRedrawn && window.htmx) {
      window.__betweenZoneRedrawn = true;  // once per page load, whatever the server answers
      window.htmx.ajax("GET", window.location.pathname + window.location.search,
        { target: "[data-caseload]", select: "[data-caseload]", swap: "outerHTML" });
    }
  }

  var pending = null;

  function search(input) {
    var scope = input.closest("[data-caseload]");
    if (!scope) { return; }
    var wanted = fold(input.value);
    var server = fold(input.getAttribute("data-server-query") || "");
    if (server && wanted.indexOf(server) === -1) {
      // The page holds only the rows that matched the search it was loaded with: ask again.
      window.clearTimeout(pending);
      pending = window.setTimeout(function () { input.form.requestSubmit(); }, 350);
      return;
    }
    var shown = 0;
    var items = scope.querySelectorAll("[data-search]");
    items.forEach(function (item) {
      var match = !wanted || item.getAttribute("data-search").indexOf(wanted) !== -1;
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    var count = scope.querySelector("[data-caseload-count]");
    if (count) {
      if (!wanted) { count.textContent = ""; }
      else if (!shown) { count.textContent = count.getAttribute("data-none"); }
      else { count.textContent = count.getAttribute("data-template").replace("__SHOWN__", String(shown)); }
    }
    setParam("q", input.value.trim());
  }

  function compare(key, descending) {
    var attribute = "data-sort-" + key;
    var numeric = key !== "name";
    return function (a, b) {
      var x = a.getAttribute(attribute), y = b.getAttribute(attribute);
      var order = Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index"));
      if (x === "" || y === "") {
        // Nothing to sort by (no session, nothing expected, no entry): last either way.
        return x === y ? order : (x === "" ? 1 : -1);
      }
      var c = numeric ? Number(x) - Number(y) : (x < y ? -1 : (x > y ? 1 : 0));
      return (descending ? -c : c) || order;
    };
  }

  function sortBy(button) {
    var table = button.closest("table");
    var body = table.tBodies[0];
    var value = button.value;
    var descending = value.charAt(0) === "-";
    var key = button.getAttribute("data-sort");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(compare(key, descending));
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("button[data-sort]").forEach(function (other) {
      var header = other.closest("th");
      var mark = other.querySelector(".sort-mark");
      if (other === button) {
        header.setAttribute("aria-sort", descending ? "descending" : "ascending");
        other.value = descending ? key : "-" + key;
        if (mark) { mark.textContent = descending ? "▼" : "▲"; }
      } else {
        header.removeAttribute("aria-sort");
        other.value = other.getAttribute("data-first");
        if (mark) { mark.textContent = "↕"; }
      }
    });
    var form = document.getElementById("caseload-find");
    var submit = form && form.querySelector("button[name=sort]");
    if (submit) { submit.value = value; }
    setParam("sort", value);
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button[data-sort]") : null;
    if (!button || !button.closest("[data-caseload-table]")) { return; }
    event.preventDefault();
    event.stopPropagation();
    sortBy(button);
  }, true);

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.hasAttribute("data-caseload-search")) { search(input); }
  });

  function enhance(root) {
    rememberZone(root);
    var input = root.querySelector && root.querySelector("[data-caseload-search]");
    // Rows a boosted search brought back are already filtered; a typed text the page
    // kept (back and forward) is applied again.
    if (input && input.value && input.value !== input.getAttribute("data-server-query")) { search(input); }
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function () { enhance(document); });
})();
