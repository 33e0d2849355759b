/* The inbox list: watch for new mail and refresh the table in place. */
(function () {
  var status = document.getElementById("inbox-status");
  if (!status) { return; }
  var pollUrl = status.dataset.pollUrl, tableUrl = status.dataset.tableUrl;
  var failures = 0;

  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.title = el.textContent; el.textContent = d.toLocaleString(); }
    });
  }

  function refresh(arrived) {
    return fetch(tableUrl + window.location.search, {headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { if (!r.ok || r.redirected) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var current = document.getElementById("inbox-table");
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#inbox-table");
        if (current && fresh) {
          // Keep what the reader selected and where the keyboard was.
          var checked = {}, chosen = current.querySelector("tr.chosen");
          current.querySelectorAll("input[name=id]:checked").forEach(function (box) { checked[box.value] = true; });
          fresh.querySelectorAll("input[name=id]").forEach(function (box) { box.checked = !!checked[box.value]; });
          if (chosen) {
            var again = fresh.querySelector('tr[data-id="' + chosen.dataset.id + '"]');
            if (again) { again.classList.add("chosen"); }
          }
          current.replaceWith(fresh); localize(fresh);
        }
        if (arrived > 0) {
          status.textContent = arrived + " new message" + (arrived === 1 ? "" : "s") + " at " + new Date().toLocaleTimeString() + ".";
        }
      });
  }

  function poll() {
    if (document.hidden) { setTimeout(poll, 2000); return; }
    fetch(pollUrl, {headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok || r.redirected) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        failures = 0;
        var table = document.getElementById("inbox-table");
        var latest = Number(table.dataset.latestId), count = Number(table.dataset.count);
        if (data.latest_id !== latest || data.count !== count) {
          return refresh(data.latest_id > latest ? data.count - count : 0);
        }
      })
      .catch(function () { failures += 1; })
      .then(function () { if (failures < 30) { setTimeout(poll, failures ? 5000 : 2000); } });
  }

  localize(document);
  setTimeout(poll, 2000);
})();
