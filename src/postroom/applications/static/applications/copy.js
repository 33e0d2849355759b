/* The secret page: copy the secret to the clipboard. */
(function () {
  "use strict";
  var button = document.getElementById("copy-secret");
  var field = button && document.getElementById(button.getAttribute("data-copy"));
  if (!field) { return; }
  button.addEventListener("click", function () {
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });
})();
