/* iframe[data-fit-content]: as tall as the page inside it, so it never scrolls on its own.
   Only frames whose content Postroom may read (same origin, e.g. the form preview); others
   keep their CSS height. Sizes are set through the CSSOM, which the CSP allows. */
(function () {
  "use strict";
  var MIN = 120, MAX = 20000;
  function fit(frame) {
    var doc;
    try { doc = frame.contentDocument; } catch (e) { return; }
    if (!doc || !doc.body) { return; }
    // The body's own height: the document's is never less than the frame, so never shrinks.
    var borders = frame.offsetHeight - frame.clientHeight;  // with box-sizing: border-box
    var height = Math.ceil(doc.body.getBoundingClientRect().height) + borders;
    var wanted = Math.min(Math.max(height, MIN), MAX) + "px";
    if (frame.style.height !== wanted) { frame.style.height = wanted; }
  }
  document.querySelectorAll("iframe[data-fit-content]").forEach(function (frame) {
    var watching = null;
    frame.addEventListener("load", function () {
      fit(frame);
      if (watching) { watching.disconnect(); }
      var doc = null;
      try { doc = frame.contentDocument; } catch (e) { doc = null; }
      if (doc && doc.body && window.ResizeObserver) {
        watching = new ResizeObserver(function () { fit(frame); });
        watching.observe(doc.body);
      }
    });
    fit(frame);  // already loaded before this script ran
  });
})();
