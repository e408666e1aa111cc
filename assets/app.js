// Small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Show times in the reader's time zone and as "3 min ago"; the exact time
  // stays in the title attribute.
  function relative(el) {
    var t = Date.parse(el.getAttribute("datetime"));
    if (isNaN(t)) return;
    var s = Math.round((Date.now() - t) / 1000), txt;
    if (s < 45) txt = "just now";
    else if (s < 5400) txt = Math.round(s / 60) + " min ago";
    else if (s < 129600) txt = Math.round(s / 3600) + " h ago";
    else txt = Math.round(s / 86400) + " days ago";
    el.textContent = txt;
    el.title = new Date(t).toLocaleString();
  }
  function refresh(root) {
    (root || document).querySelectorAll("time.rel").forEach(relative);
  }
  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var src = document.querySelector(b.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) return;
    navigator.clipboard.writeText(src.textContent.trim()).then(function () {
      b.textContent = "Copied";
    });
  });
  // Confirm dangerous form submissions: <form data-confirm="Really?">.
  document.addEventListener("submit", function (e) {
    var f = e.target.closest("form[data-confirm]");
    if (f && !window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
  }, true);
  document.addEventListener("DOMContentLoaded", function () { refresh(); });
  document.addEventListener("htmx:afterSwap", function (e) { refresh(e.target); });
  setInterval(refresh, 30000);
})();
