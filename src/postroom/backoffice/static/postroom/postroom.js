/* Loaded by every backoffice page. Pages carry no inline script (the Content-Security-Policy
   forbids it): behaviour is declared with data attributes and wired up here.
   - form[data-confirm]: ask before submitting, with the attribute's text;
   - input[data-select-on-focus]: select the whole value when focused (links to copy);
   - button[data-copy="ID"]: put the value (or the text) of #ID on the clipboard, and say so in
     the button for two seconds and in the status line #ID-copied (or data-copy-status), if any;
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

  // Where the page is not served over HTTPS (or the browser refuses), the text is copied the
  // old way, through a hidden field; focus goes back where it was.
  function copyTheOldWay(text) {
    var focused = document.activeElement;
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    document.body.removeChild(area);
    if (focused && focused.focus) { focused.focus(); }
    return copied;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyTheOldWay(text); });
    }
    return Promise.resolve(copyTheOldWay(text));
  }

  function isField(element) {
    return element.tagName === "INPUT" || element.tagName === "TEXTAREA";
  }

  // Where nothing could copy, the text is selected for the user's own Ctrl+C.
  function select(source) {
    if (isField(source)) {
      source.focus();
      source.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
  }

  function say(status, words) {
    if (!status) { return; }
    status.textContent = "";  // emptied first, so that a second copy is announced again
    setTimeout(function () { status.textContent = words; }, 50);
  }

  // One listener for the whole page: buttons drawn later are served too. Focus stays on the
  // button; the status line (role=status) says what happened.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    var text = isField(source) ? source.value : source.textContent;
    var status = document.getElementById(button.dataset.copyStatus || button.dataset.copy + "-copied");
    if (!button.dataset.copyLabel) { button.dataset.copyLabel = button.textContent; }
    copy(text).then(function (copied) {
      if (!copied) {
        select(source);
        say(status, "Press Ctrl+C to copy.");
        return;
      }
      say(status, "Copied to the clipboard.");
      button.textContent = "Copied";
      clearTimeout(button.copyTimer);
      button.copyTimer = setTimeout(function () { button.textContent = button.dataset.copyLabel; }, 2000);
    });
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
