/* The invitation link page: copy the link to the clipboard. */
(function () {
  "use strict";
  var button = document.getElementById("copy-link"), field = document.getElementById("invite-link");
  if (!button || !field) { return; }
  button.addEventListener("click", function () {
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });
})();
