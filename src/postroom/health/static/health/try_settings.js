/* Try settings: a provider preset fills in the form; Copy puts a snippet on the clipboard. */
(function () {
  var presets = JSON.parse(document.getElementById("presets-data").textContent);
  var select = document.getElementById("preset");
  var note = document.getElementById("preset-note");
  document.getElementById("apply-preset").style.display = "none";  // the list fills in by itself
  select.addEventListener("change", function () {
    var p = presets[select.value];
    if (!p) { return; }
    document.getElementById("id_host").value = p.host;
    document.getElementById("id_port").value = p.port;
    document.getElementById("id_security").value = p.security;
    document.getElementById("id_username").value = p.username;
    document.getElementById("id_password").value = "";
    note.textContent = p.note;
  });
  var status = document.getElementById("copy-status");
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copy).textContent;
      var done = function () { button.textContent = "Copied"; if (status) { status.textContent = "Copied to the clipboard."; }
        setTimeout(function () { button.textContent = "Copy"; }, 2000); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
      } else { fallback(text); done(); }
    });
  });
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    document.body.removeChild(area);
  }
})();
