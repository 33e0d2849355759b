/* The email log: tick every row of the page, or every match. The action buttons wait until
   something is ticked, and an action on many messages (or every match) asks first. */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form"), page = document.getElementById("select-page");
  var all = document.getElementById("scope-all"), count = document.getElementById("bulk-count");
  if (!form || !page || !all) { return; }
  var CONFIRM_FROM = 10;  // ticked messages; fewer are acted on at once
  var boxes = form.querySelectorAll('input[name="ids"]');
  var buttons = form.querySelectorAll("button[data-needs-selection]");
  function ticked() {
    var n = 0;
    boxes.forEach(function (box) { if (box.checked) { n += 1; } });
    return n;
  }
  function chosen() { return all.checked ? all.dataset.total : String(ticked()); }
  function update() {
    var none = !all.checked && ticked() === 0;
    buttons.forEach(function (button) { button.disabled = none; });
    if (count) {
      count.textContent = none ? "Tick messages to act on them:" : "With the " + chosen() + " ticked message" + (chosen() === "1" ? "" : "s") + ":";
    }
  }
  page.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = page.checked; });
    update();
  });
  all.addEventListener("change", function () {
    if (all.checked) { page.checked = true; boxes.forEach(function (box) { box.checked = true; }); }
    update();
  });
  boxes.forEach(function (box) { box.addEventListener("change", update); });
  form.addEventListener("submit", function (event) {
    var action = event.submitter ? event.submitter.textContent.trim() : "Apply";
    var question = null;
    if (all.checked) {
      question = action + ": all " + all.dataset.total + " matching messages?";
    } else if (ticked() >= CONFIRM_FROM) {
      question = action + ": the " + ticked() + " ticked messages?";
    }
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  update();
})();
