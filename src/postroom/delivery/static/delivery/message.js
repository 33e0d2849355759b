/* A message still on its way: reload the page when its status changes (for two minutes). */
(function () {
  "use strict";
  var badge = document.getElementById("message-status");
  if (!badge || !badge.dataset.pollUrl) { return; }
  var url = badge.dataset.pollUrl, shown = badge.dataset.status, started = Date.now();
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.status !== shown) { window.location.reload(); return; }
        if (Date.now() - started < 120000) { setTimeout(poll, 700); }
      }).catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
})();
