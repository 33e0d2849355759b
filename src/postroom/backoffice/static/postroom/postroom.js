/* Loaded by every backoffice page. Pages carry no inline script (the Content-Security-Policy
   forbids it): behaviour is declared with data attributes and wired up here.
   - form[data-confirm]: ask before submitting, with the attribute's text;
   - input[data-select-on-focus]: select the whole value when focused (links to copy);
   - button[data-menu-button]: opens and closes the navigation on a phone (Escape closes it);
   - tables in .table-wrap: each cell is labelled with its column's heading (data-label), so
     that on a phone the stylesheet can show every row as a stack of "label: value" lines,
     its title first (the Subject column, else Name or Workflow). Tables redrawn later (the Inbox updates itself) are labelled too. */
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  var menuButton = document.querySelector("[data-menu-button]");
  if (menuButton) {
    var sidebar = menuButton.closest(".sidebar");
    var setOpen = function (open) {
      sidebar.classList.toggle("open", open);
      menuButton.setAttribute("aria-expanded", open ? "true" : "false");
    };
    menuButton.addEventListener("click", function () {
      setOpen(menuButton.getAttribute("aria-expanded") !== "true");
    });
    sidebar.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && sidebar.classList.contains("open")) {
        setOpen(false);
        menuButton.focus();
      }
    });
  }

  function headingText(th) {
    var text = th.textContent.replace(/\s+/g, " ").trim();
    if (text) { return text; }
    var named = th.querySelector("[aria-label], [title]");
    return named ? (named.getAttribute("aria-label") || named.getAttribute("title")) : "";
  }

  function labelTable(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    var labels = Array.prototype.map.call(head.cells, headingText);
    // The row's title comes first: the subject of a message, else the name of the thing.
    var primary = labels.findIndex(function (label) { return /^subject$/i.test(label); });
    if (primary < 0) {
      primary = labels.findIndex(function (label) { return /^(name|workflow)$/i.test(label); });
    }
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, index) {
          if (cell.tagName === "TD" && labels[index]) { cell.dataset.label = labels[index]; }
          if (index === primary) { cell.classList.add("cell-primary"); }
          var only = cell.children.length === 1 ? cell.children[0] : null;
          if (only && only.matches("input[type=checkbox]") && !cell.textContent.trim()) {
            cell.classList.add("cell-check");
          } else if (!cell.textContent.trim() && !cell.querySelector("input, button, img, svg")) {
            cell.classList.add("cell-empty");
          }
        });
      });
    });
  }

  function labelTables(root) {
    root.querySelectorAll(".table-wrap table").forEach(labelTable);
  }
  labelTables(document);
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) {
        if (node.nodeType === 1) { labelTables(node.parentNode || node); }
      });
    });
  }).observe(document.body, { childList: true, subtree: true });
})();
