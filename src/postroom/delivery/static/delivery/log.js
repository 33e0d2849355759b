/* The email log keeps itself current: every few seconds it asks for the rows of the same
   filters and page, and swaps them in when they changed, keeping the ticked messages ticked.
   Administrators tick rows, or every match; the action buttons wait until something is
   ticked, and an action on many messages (or every match) asks first. */
(function () {
  "use strict";
  var live = document.getElementById("log-live");
  var form = document.getElementById("bulk-form"), page = document.getElementById("select-page");
  var all = document.getElementById("scope-all"), count = document.getElementById("bulk-count");
  var CONFIRM_FROM = 10;  // ticked messages; fewer are acted on at once
  var POLL_MS = 5000;

  function boxes() { return form ? form.querySelectorAll('input[name="ids"]') : []; }
  function ticked() {
    var n = 0;
    boxes().forEach(function (box) { if (box.checked) { n += 1; } });
    return n;
  }
  function chosen() { return all.checked ? all.dataset.total : String(ticked()); }
  function update() {
    if (!all) { return; }
    var none = !all.checked && ticked() === 0;
    form.querySelectorAll("button[data-needs-selection]").forEach(function (b) { b.disabled = none; });
    if (count) {
      count.textContent = none ? "Tick messages to act on them:" : "With the " + chosen() + " ticked message" + (chosen() === "1" ? "" : "s") + ":";
    }
    var list = boxes();
    if (page) { page.checked = list.length > 0 && ticked() === list.length; }
  }

  if (form && page && all) {
    page.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = page.checked; });
      update();
    });
    all.addEventListener("change", function () {
      if (all.checked) { boxes().forEach(function (box) { box.checked = true; }); }
      update();
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "ids") { update(); }
    });
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
  }

  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) { return; }
      el.title = el.textContent;
      el.textContent = d.toLocaleString(undefined, {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
    });
  }

  if (!live) { return; }
  var failures = 0;

  function swap(html) {
    var holder = document.createElement("template");  // parses a lone <tbody> as a table's
    holder.innerHTML = html;
    var fresh = holder.content.querySelector("#log-rows"), current = document.getElementById("log-rows");
    if (!fresh || (current && current.dataset.version === fresh.dataset.version)) { return; }
    var shown = Number(live.dataset.shown), total = Number(fresh.dataset.total);
    if (!current) {  // the page showed no rows: show it again with them (filters are in the URL)
      if (total > 0) { window.location.reload(); }
      return;
    }
    var keep = {};
    boxes().forEach(function (box) { if (box.checked) { keep[box.value] = true; } });
    current.replaceWith(fresh);
    boxes().forEach(function (box) { if (keep[box.value] || (all && all.checked)) { box.checked = true; } });
    localize(fresh);
    document.querySelectorAll("[data-shows-range]").forEach(function (el) { el.textContent = fresh.dataset.rangeLabel; });
    if (all) {
      all.dataset.total = fresh.dataset.totalLabel;
      var label = all.parentNode;
      label.lastChild.textContent = " Select all " + fresh.dataset.totalLabel + " message" + (total === 1 ? "" : "s") + " " + label.dataset.where;
    }
    var maxId = document.getElementById("max-id");
    if (maxId) { maxId.value = fresh.dataset.maxId; }
    if (total !== shown) {
      var more = total - shown;
      live.textContent = (more > 0 ? more + " new message" + (more === 1 ? "" : "s") : "Updated") + " at " + new Date().toLocaleTimeString() + ".";
      live.dataset.shown = String(total);
    }
    update();
  }

  function poll() {
    if (document.hidden) { setTimeout(poll, POLL_MS); return; }
    fetch(live.dataset.rowsUrl + window.location.search, {headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { if (!r.ok || r.redirected) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        failures = 0;
        swap(html);
      })
      .catch(function () { failures += 1; })
      .then(function () { if (failures < 30) { setTimeout(poll, failures ? 3 * POLL_MS : POLL_MS); } });
  }
  setTimeout(poll, POLL_MS);
})();
