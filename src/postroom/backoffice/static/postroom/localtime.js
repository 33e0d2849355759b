/* Shows each <time datetime> in the viewer's time zone; the UTC text stays as the tooltip. */
document.querySelectorAll("time[datetime]").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (!isNaN(d)) { el.title = el.textContent; el.textContent = d.toLocaleString(); }
});
