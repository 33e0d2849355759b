/* Inbox keyboard shortcuts (listed in the dialog opened with "?"):
   j / k  next (older) / previous (newer) message: moves the chosen row, or opens it on a message
   Enter  open the chosen row;  x  select it;  Delete  delete the selection, chosen row or message
   u      back to the list;  /  search;  ?  this list.
   Keys typed into a field, or with Ctrl/Alt/Meta, are left alone. */
(function () {
  "use strict";
  var dialog = document.getElementById("inbox-shortcuts");
  var bulk = document.getElementById("inbox-bulk");

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#inbox-table tbody tr")); }
  function chosen() { return document.querySelector("#inbox-table tr.chosen"); }
  function choose(row) {
    var old = chosen();
    if (old) { old.classList.remove("chosen"); }
    if (!row) { return; }
    row.classList.add("chosen");
    var link = row.querySelector("td.subject a");
    if (link) { link.focus({preventScroll: true}); }
    row.scrollIntoView({block: "nearest"});
  }
  function move(step) {
    var all = rows(), index = all.indexOf(chosen());
    if (!all.length) { return; }
    choose(all[Math.max(0, Math.min(all.length - 1, index < 0 ? 0 : index + step))]);
  }
  function follow(selector) {
    var link = document.querySelector(selector);
    if (link) { window.location.href = link.href; }
  }
  function deleteSelection() {
    var keyed = document.querySelector("form[data-key-delete]");
    if (keyed) { keyed.requestSubmit(); return; }  // a message page: its own confirmed form
    if (!bulk) { return; }
    var boxes = document.querySelectorAll("#inbox-table input[name=id]:checked");
    if (!boxes.length && chosen()) {
      var box = chosen().querySelector("input[name=id]");
      if (box) { box.checked = true; }
    }
    bulk.requestSubmit(bulk.querySelector("[data-bulk-delete]"));
  }
  function showHelp() { if (dialog && !dialog.open) { dialog.showModal(); } }

  if (bulk) {
    bulk.addEventListener("submit", function (event) {
      var count = document.querySelectorAll("#inbox-table input[name=id]:checked").length;
      if (event.submitter && event.submitter.hasAttribute("data-bulk-delete") && count &&
          !window.confirm("Delete " + count + " selected message" + (count === 1 ? "" : "s") + "?")) {
        event.preventDefault();
      }
    });
  }
  document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
    button.addEventListener("click", showHelp);
  });
  if (window.location.hash === "#search") {
    var box = document.querySelector("#inbox-search input[name=q]");
    if (box) { box.focus(); }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) { return; }
    if (target.closest && target.closest("input, textarea, select, [contenteditable], dialog")) {
      if (event.key === "Escape" && target.name === "q") { target.blur(); }
      return;
    }
    var onList = !!document.getElementById("inbox-table");
    var handled = true;
    switch (event.key) {
      case "j": if (onList) { move(1); } else { follow("[data-key-next]"); } break;
      case "k": if (onList) { move(-1); } else { follow("[data-key-prev]"); } break;
      case "Enter":
        if (onList && chosen() && target === document.body) { follow("#inbox-table tr.chosen td.subject a"); }
        else { handled = false; }
        break;
      case "x":
        if (onList && chosen()) { var b = chosen().querySelector("input[name=id]"); if (b) { b.checked = !b.checked; } }
        break;
      case "Delete": deleteSelection(); break;
      case "u": follow("[data-key-up]"); break;
      case "/":
        var search = document.querySelector("#inbox-search input[name=q]");
        if (search) { search.focus(); search.select(); }
        else { var up = document.querySelector("[data-key-up]"); if (up) { window.location.href = up.href + "#search"; } }
        break;
      case "?": showHelp(); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });
})();
