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

  // A domain page's status-dependent parts (each [data-live-part]): polled
  // while the status may still change, all replaced together from the server's partials.
  function startPolling(block) {
    var url = block.getAttribute("data-status-url");
    var interval = parseInt(block.getAttribute("data-interval"), 10) || 3000;
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

    function replaceParts(parts, all) {
      var elements = document.querySelectorAll("[data-live-part]");
      for (var i = 0; i < elements.length; i++) {
        var key = elements[i].getAttribute("data-live-part");
        // The meta line (next check, "checked 5 s ago") changes every time;
        // the rest only when something worth announcing changed.
        if (Object.prototype.hasOwnProperty.call(parts, key) && (all || key === "meta")) {
          replaceKeepingFocus(elements[i], parts[key]);
        }
      }
    }

    function dropStaleMessages(status) {
      var stale = document.querySelectorAll("[data-while-status]");
      for (var i = 0; i < stale.length; i++) {
        if (stale[i].getAttribute("data-while-status") !== status) { stale[i].remove(); }
      }
      var box = document.querySelector(".messages");
      if (box && !box.children.length) { box.remove(); }
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
          // Screen readers hear news rather than the same block every few seconds.
          replaceParts(data.parts || {}, data.signature !== signature);
          signature = data.signature;
          dropStaleMessages(data.status);
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
