// An export the worker writes: poll its job every 2 s, move the bar, reload the page once its
// status changes (done: the download button appears). The same pattern as reporting.js's followJob.
(function () {
  "use strict";
  function followJob(box) {
    var bar = box.querySelector("progress");
    var tick = function () {
      fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j) { return; }
          if (j.status !== box.dataset.status) { window.location.reload(); return; }
          bar.value = j.progress;
          box.querySelector('[data-job="percent"]').textContent = j.progress + "%";
          box.querySelector('[data-job="step"]').textContent = j.step && j.step !== box.dataset.label ? j.step : "";
          window.setTimeout(tick, 2000);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    };
    window.setTimeout(tick, 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var job = document.getElementById("export-job");
    if (job && window.fetch) { followJob(job); }
  });
}());
