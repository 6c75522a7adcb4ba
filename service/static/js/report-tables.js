// Progressive enhancement for the dashboard's sub-area and team tables; without it they show in
// the server's order and "show all" is a link (?all=1).
// 1. Every column header sorts the rows: figures by their number (data-value), names by their
//    place in Vietnamese alphabetical order (data-value, computed on the server). A second click
//    reverses the order.
// 2. "Show all" shows or hides, in place, the rows without any figure.
(function () {
  "use strict";

  function value(row, index) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-value") : null;
    var n = raw === null ? NaN : parseFloat(raw);
    return isNaN(n) ? 0 : n;
  }

  function sortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    var body = table.tBodies[0];
    if (!body) return;
    Array.prototype.forEach.call(body.rows, function (row, i) { row.setAttribute("data-order", i); });
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var isName = th.getAttribute("data-type") === "text";
        var current = th.getAttribute("aria-sort");
        // Names A→Z first, figures largest first.
        var ascending = current === "none" ? isName : current === "descending";
        Array.prototype.forEach.call(headers, function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var d = value(a, index) - value(b, index);
          if (!ascending) d = -d;
          return d || a.getAttribute("data-order") - b.getAttribute("data-order");
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function showAll(link) {
    var table = document.getElementById(link.getAttribute("data-table"));
    if (!table) return;
    link.setAttribute("role", "switch");
    function set(on) {
      link.setAttribute("aria-checked", on ? "true" : "false");
      link.removeAttribute("aria-pressed");
      link.textContent = link.getAttribute(on ? "data-hide" : "data-show");
      table.querySelectorAll("tbody tr[data-empty]").forEach(function (row) { row.hidden = !on; });
    }
    set(link.getAttribute("aria-pressed") === "true");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var on = link.getAttribute("aria-checked") !== "true";
      set(on);
      if (window.history && window.history.replaceState) {
        var url = new URL(window.location.href);
        if (on) url.searchParams.set("all", "1"); else url.searchParams.delete("all");
        window.history.replaceState(null, "", url.toString());
      }
    });
    link.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); link.click(); }
    });
  }

  document.querySelectorAll("table[data-sortable]").forEach(sortable);
  document.querySelectorAll("a.show-all[data-table]").forEach(showAll);
})();
