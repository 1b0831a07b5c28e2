// The web application's only script: the upload with a progress bar (drag and drop), the
// live progress of a run or of an advice, and the advice button. Every page works without
// it, less nicely.
// It talks only to this server, and sends the session's CSRF token with every change.
"use strict";

(function () {
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] || ""; });
  }

  // -- upload: the file as the request body, streamed to storage, with its progress -------
  var form = document.getElementById("upload-form");
  if (form) {
    var input = document.getElementById("file");
    var zone = document.getElementById("drop-zone");
    var status = document.getElementById("upload-status");
    var bar = document.getElementById("upload-progress");
    var message = document.getElementById("upload-message");
    var messages = form.dataset;

    var say = function (text, isError) {
      status.hidden = false;
      message.textContent = text;
      message.className = isError ? "error" : "";
    };

    var upload = function (file) {
      if (!file) { say(messages.msgNoFile, true); return; }
      if (!/\.(csv|parquet|pq)$/i.test(file.name)) {
        say(fill(messages.msgBadExtension, { name: file.name }), true);
        return;
      }
      if (file.size > Number(form.dataset.maxBytes)) {
        say(fill(messages.msgTooLarge, { name: file.name }), true);
        return;
      }
      var request = new XMLHttpRequest();
      request.open("PUT", "/uploads/" + encodeURIComponent(file.name));
      request.setRequestHeader("X-CSRF-Token", messages.csrf);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.upload.onprogress = function (event) {
        if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
      };
      request.onload = function () {
        var body = {};
        try { body = JSON.parse(request.responseText); } catch (e) { body = {}; }
        if (request.status === 200 && body.next) {
          bar.value = 100;
          say(messages.msgDone, false);
          window.location.assign(body.next);
        } else {
          say(fill(messages.msgFailed, { reason: body.message || request.statusText }), true);
        }
      };
      request.onerror = function () { say(fill(messages.msgFailed, { reason: "network" }), true); };
      bar.value = 0;
      say(fill(messages.msgUploading, { name: file.name }), false);
      request.send(file);
    };

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      upload(input.files[0]);
    });
    input.addEventListener("change", function () { upload(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.remove("dragging");
      });
    });
    zone.addEventListener("drop", function (event) {
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) { upload(files[0]); }
    });
  }

  // -- a run's or an advice's live progress: the fragment again every second, then the page ---
  var progress = document.querySelector("#progress[data-poll]");
  if (progress) {
    var url = progress.dataset.poll;
    var shown = null;  // the fragment last shown: a live region is rewritten only on change
    var poll = function () {
      fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.redirected || !response.ok) { window.location.reload(); return null; }
          var done = response.headers.get("X-Run-Done") === "1";
          return response.text().then(function (html) {
            if (html !== shown) { progress.innerHTML = html; shown = html; }
            if (done) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
          });
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }

  // -- the advice button: the advised parameters back in their fields ---------------------
  var adviceButton = document.getElementById("use-advice");
  if (adviceButton) {
    adviceButton.addEventListener("click", function () {
      var advice = document.getElementById("advice").dataset;
      document.getElementById("k").value = advice.k;
      document.getElementById("ncp").value = advice.ncp;
    });
  }
  // Enter in the target's field asks for the advice (elsewhere in the form it runs).
  var targetValue = document.getElementById("target_value");
  if (targetValue) {
    targetValue.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        document.getElementById("advise").click();
      }
    });
  }
})();
