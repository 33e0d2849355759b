/* Forms backoffice: live preview of a field being edited (postroom.js does the Copy buttons).
   Everything works without it; this only makes it quicker. */
(function () {
  "use strict";
  var editor = document.getElementById("field-form");
  var frame = document.getElementById("preview");
  var state = document.getElementById("preview-state");
  if (editor && frame && editor.dataset.preview) {
    var timer = null, pending = null;
    var refresh = function () {
      if (pending) { pending.abort(); }
      pending = new AbortController();
      if (state) { state.textContent = "updating…"; }
      fetch(editor.dataset.preview, {
        method: "POST", body: new FormData(editor), credentials: "same-origin",
        headers: {"X-Requested-With": "fetch"}, signal: pending.signal
      }).then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.text();
      }).then(function (html) {
        frame.onload = function () {
          var draft = frame.contentDocument && frame.contentDocument.querySelector(".pr-draft");
          if (draft) { draft.scrollIntoView({block: "center"}); }
        };
        frame.srcdoc = html;
        if (state) { state.textContent = "updated"; }
      }).catch(function (error) {
        if (error.name !== "AbortError" && state) { state.textContent = "could not update the preview"; }
      });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    editor.addEventListener("input", later);
    editor.addEventListener("change", later);
  }
  // form[data-confirm] and button[data-copy] are handled by postroom.js, which every
  // backoffice page loads.
})();
