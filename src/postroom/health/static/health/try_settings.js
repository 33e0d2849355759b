/* Try settings: a provider preset fills in the form (postroom.js does the Copy buttons). */
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
})();
