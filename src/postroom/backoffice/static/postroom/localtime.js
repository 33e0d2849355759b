/* Shows each <time datetime> in the viewer's time zone, naming the zone ("14:05 CET"); the
   UTC text stays as the tooltip. data-format="time" shows the time of day only. */
document.querySelectorAll("time[datetime]").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) { return; }
  var options = {hour: "2-digit", minute: "2-digit", timeZoneName: "short"};
  if (el.dataset.format !== "time") {
    options.year = "numeric"; options.month = "2-digit"; options.day = "2-digit";
  }
  el.title = el.textContent;
  el.textContent = d.toLocaleString(undefined, options);
});
