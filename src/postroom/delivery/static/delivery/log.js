/* The email log: tick every row of the page, or every match; confirm an action on every match. */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form"), page = document.getElementById("select-page");
  var all = document.getElementById("scope-all");
  if (!form || !page || !all) { return; }
  var boxes = form.querySelectorAll('input[name="ids"]');
  page.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = page.checked; });
  });
  all.addEventListener("change", function () {
    if (all.checked) { page.checked = true; boxes.forEach(function (box) { box.checked = true; }); }
  });
  form.addEventListener("submit", function (event) {
    var action = event.submitter ? event.submitter.textContent.trim() : "Apply";
    if (all.checked && !window.confirm(action + ": all " + all.dataset.total + " matching messages?")) {
      event.preventDefault();
    }
  });
})();
