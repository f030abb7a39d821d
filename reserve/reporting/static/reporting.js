// Upload with a progress bar (XHR upload events), then a "checking" state while the server
// validates; a large report's progress while the worker checks or applies it; click-to-sort
// tables. Without JavaScript the form posts normally.
(function () {
  "use strict";
  function setupUpload(form) {
    var box = document.getElementById("upload-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector(".progress-text");
    var failure = document.getElementById("upload-error");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.round(100 * e.loaded / e.total);
        bar.value = percent;
        text.textContent = text.dataset.uploading.replace("{percent}", percent + "%");
      });
      request.upload.addEventListener("load", function () {
        bar.removeAttribute("value");
        text.textContent = text.dataset.checking;
      });
      request.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(request.responseText); } catch (ignored) { body = {}; }
        if (request.status < 400 && body.url) { window.location.assign(body.url); return; }
        box.hidden = true;
        button.disabled = false;
        failure.textContent = body.error || body.detail || request.statusText;
        failure.hidden = false;
      });
      request.addEventListener("error", function () {
        box.hidden = true;
        button.disabled = false;
        failure.textContent = request.statusText || "Network error";
        failure.hidden = false;
      });
      failure.hidden = true;
      box.hidden = false;
      bar.value = 0;
      button.disabled = true;
      request.send(new FormData(form));
    });
  }
  // A large report the worker checks or applies: poll the submission every 2 s, move the bar,
  // reload the page once the status changes (or the job stops).
  function followJob(box) {
    var bar = box.querySelector("progress");
    var tick = function () {
      fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          var j = s.job;
          if (!j || j.status !== box.dataset.status) { window.location.reload(); return; }
          bar.value = j.progress;
          box.querySelector('[data-job="percent"]').textContent = j.progress + "%";
          box.querySelector('[data-job="step"]').textContent = j.step || "";
          window.setTimeout(tick, 2000);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    };
    window.setTimeout(tick, 1000);
  }
  function setupSort(table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th, index) {
      th.classList.add("clickable");
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var numeric = th.dataset.sort === "num";
        var ascending = th.dataset.dir !== "asc";
        th.dataset.dir = ascending ? "asc" : "desc";
        rows.sort(function (a, b) {
          var x = a.cells[index].dataset.value || a.cells[index].textContent.trim();
          var y = b.cells[index].dataset.value || b.cells[index].textContent.trim();
          var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, "zh");
          return ascending ? c : -c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (form && window.FormData && window.XMLHttpRequest) { setupUpload(form); }
    document.querySelectorAll("table.sortable").forEach(setupSort);
    var job = document.getElementById("submission-job");
    if (job && window.fetch && (job.dataset.status === "queued" || job.dataset.status === "running")) {
      followJob(job);
    }
  });
}());
