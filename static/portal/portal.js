/* The tenant web UI's only script: copy buttons and the live status block.
   Plain JavaScript, no libraries; every page works without it. */
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("copy-status");
    if (region) { region.textContent = ""; window.setTimeout(function () { region.textContent = text; }, 50); }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Fallback for plain-HTTP hosts other than localhost.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    copyText(text).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      announce("Copied " + text);
      window.setTimeout(function () { button.textContent = "Copy"; button.classList.remove("copied"); }, 2000);
    }, function () {
      announce("Could not copy; select the text and copy it yourself.");
    });
  });

  // The status block of a domain page: polls while the status may still change.
  function startPolling(block) {
    var url = block.getAttribute("data-status-url");
    var interval = parseInt(block.getAttribute("data-interval"), 10) || 3000;
    var meta = document.getElementById("status-meta");
    var events = document.getElementById("events-block");
    var signature = block.getAttribute("data-signature");
    var timer = null;

    function schedule() { timer = window.setTimeout(poll, interval); }

    function replaceKeepingFocus(element, html) {
      var focusedId = element.contains(document.activeElement) ? document.activeElement.id : null;
      element.innerHTML = html;
      if (focusedId) {
        var again = document.getElementById(focusedId);
        if (again) { again.focus(); }
      }
    }

    function poll() {
      timer = null;
      if (document.hidden) { return; }  // resumed by visibilitychange
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        })
        .then(function (data) {
          // Replace the live region only when something changed, so screen
          // readers hear news rather than the same block every few seconds.
          if (data.signature !== signature) {
            replaceKeepingFocus(block, data.status_html);
            if (events) { events.innerHTML = data.events_html; }
          }
          signature = data.signature;
          if (meta) { meta.innerHTML = data.meta_html; }
          block.setAttribute("data-status", data.status);
          block.setAttribute("data-poll", data.poll ? "true" : "false");
          if (data.poll) { schedule(); }
        })
        .catch(function () { interval = Math.min(interval * 2, 30000); schedule(); });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer === null && block.getAttribute("data-poll") === "true") { poll(); }
    });
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var block = document.getElementById("status-block");
    if (block && block.getAttribute("data-poll") === "true") { startPolling(block); }
  });
})();
