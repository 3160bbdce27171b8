// Progress of a long form post (a roster upload, then its import), for forms marked data-progress.
// htmx posts the form (hx-post) and reports the upload's progress; this shows it in the form's
// [data-progress-panel]: the share of the file sent, then, once it is all sent, the form's
// data-progress-working text while the server parses, validates and previews (or applies).
// Without JavaScript the form posts as usual and the page answers when the work is done.
(function () {
  "use strict";

  function panelOf(form) {
    return form && form.matches("form[data-progress]") ? form.querySelector("[data-progress-panel]") : null;
  }

  function show(panel, percent, text) {
    const bar = panel.querySelector("progress");
    if (percent === null) {
      bar.removeAttribute("value"); // indeterminate: the server is working
    } else {
      bar.value = percent;
    }
    panel.querySelector("[data-progress-text]").textContent = text;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const panel = panelOf(event.detail.elt);
    if (!panel) return;
    panel.hidden = false;
    delete panel.dataset.sent;
    const form = event.detail.elt;
    const sending = form.querySelector("input[type=file]") !== null;
    if (sending) {
      show(panel, 0, "Uploading: 0%");
    } else {
      show(panel, null, form.dataset.progressWorking);
    }
  });

  // htmx reports the upload's progress and then the answer's download under one event name: once the
  // file is all sent, the rest is the answer, and the panel keeps saying the server is working.
  document.addEventListener("htmx:xhr:progress", function (event) {
    const panel = panelOf(event.detail.elt);
    if (!panel || panel.dataset.sent || !event.detail.lengthComputable) return;
    const percent = Math.floor((100 * event.detail.loaded) / event.detail.total);
    if (percent < 100) {
      show(panel, percent, "Uploading: " + percent + "%");
    } else {
      panel.dataset.sent = "yes";
      show(panel, null, panel.closest("form").dataset.progressWorking);
    }
  });

  // A request that fails (the connection, a 5xx) leaves the form as it was, with a word about it.
  document.addEventListener("htmx:afterRequest", function (event) {
    const panel = panelOf(event.detail.elt);
    if (panel && event.detail.failed) {
      show(panel, 0, "The upload did not get through. Check the connection and try again.");
    }
  });
})();
