// govpub console: live regions and confirmations, nothing else.
// <div data-poll="URL" data-interval="5"> is refreshed from URL (an HTML fragment),
// except while someone is typing in it; a form with data-confirm="…" asks first.
(function () {
  "use strict";

  function busy(region) {
    var active = document.activeElement;
    if (active && region.contains(active) && active.tagName === "INPUT") return true;
    return Array.prototype.some.call(region.querySelectorAll("input[type=text], input:not([type])"), function (el) {
      return el.value !== "";
    });
  }

  function poll(region) {
    var seconds = parseFloat(region.getAttribute("data-interval")) || 5;
    setTimeout(function tick() {
      if (busy(region)) { setTimeout(tick, seconds * 1000); return; }
      fetch(region.getAttribute("data-poll"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected && response.url.indexOf("/console/login") !== -1) {
            window.location.reload();  // the session expired: show the login page
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) { if (html !== null && !busy(region)) region.innerHTML = html; })
        .catch(function () { /* offline for a moment: try again next time */ })
        .then(function () { setTimeout(tick, seconds * 1000); });
    }, seconds * 1000);
  }

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll]"), poll);
  });
})();
