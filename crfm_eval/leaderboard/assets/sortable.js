// Click a column header of a `table[data-sortable]` to sort its rows by that column; click again to
// reverse. Cells carrying `data-sort` are compared by that value (a number when it parses as one),
// others by their text. Missing values (empty data-sort, or an em dash) always go last.
(function () {
  "use strict";

  function sortValue(cell) {
    if (!cell) return null;
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "" || raw === "\u2014") return null;
    var number = Number(raw);
    return isNaN(number) ? raw.toLowerCase() : number;
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }

  function sortBy(table, header, column) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, index) {
      return { row: row, index: index, value: sortValue(row.cells[column]) };
    });
    rows.sort(function (a, b) {
      if (a.value === null || b.value === null) {
        if (a.value === b.value) return a.index - b.index;
        return a.value === null ? 1 : -1;
      }
      var order = compare(a.value, b.value);
      return (ascending ? order : -order) || a.index - b.index;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function prepare(table) {
    if (table.getAttribute("data-sort-ready") || !table.tHead || !table.tBodies.length) return;
    table.setAttribute("data-sort-ready", "1");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.setAttribute("role", "button");
      header.setAttribute("tabindex", "0");
      header.title = "Sort by this column";
      header.addEventListener("click", function () { sortBy(table, header, column); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, header, column); }
      });
    });
  }

  function prepareAll() {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), prepare);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", prepareAll);
  } else {
    prepareAll();
  }
  // Material's instant navigation swaps pages without a load event; it announces them on document$.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(prepareAll);
  }
})();
