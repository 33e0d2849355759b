/* Loaded by every backoffice page. Pages carry no inline script (the Content-Security-Policy
   forbids it): behaviour is declared with data attributes and wired up here.
   - form[data-confirm]: ask before submitting, with the attribute's text;
   - input[data-select-on-focus]: select the whole value when focused (links to copy). */
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
})();
