// poems-kg pages: sortable and filterable tables, and RFC 5147 "#char=start,end" fragments on source pages.
// The pages read whole without it; it only adds sorting, filtering and the scroll to a quoted passage.
"use strict";
document.querySelectorAll("table.sortable th button[data-sort]").forEach((button) => {
  button.addEventListener("click", () => {
    const th = button.closest("th"), table = th.closest("table"), body = table.tBodies[0];
    const column = Array.from(th.parentNode.children).indexOf(th);
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach((other) => other.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const key = (row) => {
      const cell = row.cells[column];
      return button.dataset.sort === "number" ? parseFloat(cell.dataset.value || "-1") : cell.textContent.trim().toLowerCase();
    };
    const rows = Array.from(body.rows).sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (ascending ? 1 : -1));
    rows.forEach((row) => body.appendChild(row));
  });
});
document.querySelectorAll("input[data-filters]").forEach((input) => {
  const target = document.getElementById(input.dataset.filters);
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const items = target.tBodies ? Array.from(target.tBodies[0].rows) : Array.from(target.querySelectorAll("[data-terms]"));
    items.forEach((item) => {
      const text = (item.dataset.terms || item.textContent).toLowerCase();
      item.hidden = !words.every((word) => text.includes(word));
    });
    target.querySelectorAll("section").forEach((group) => {  // a group with nothing left to show goes too
      group.hidden = !group.querySelector("[data-terms]:not([hidden])");
    });
  });
});
function showPassage() {
  const found = /^#char=(\d+),(\d+)$/.exec(window.location.hash);
  if (!found) return;
  const start = Number(found[1]), end = Number(found[2]);
  const pieces = Array.from(document.querySelectorAll("[data-start]")).filter(
    (piece) => Number(piece.dataset.start) < end && Number(piece.dataset.end) > start);
  document.querySelectorAll(".target").forEach((piece) => piece.classList.remove("target"));
  pieces.forEach((piece) => piece.classList.add("target"));
  if (pieces.length) pieces[0].scrollIntoView({ block: "center" });
}
window.addEventListener("hashchange", showPassage);
showPassage();
