// Exam paper: the countdown and the hand-in when time is up. The server alone decides whether
// a paper came in time; this only shows the time left (counted from the seconds the server
// gave, so a wrong clock on this computer does not matter) and hands the paper in at zero.
(function () {
  "use strict";
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function start() {
    var box = document.getElementById("trp-timer");
    var clock = document.getElementById("trp-clock");
    var form = document.getElementById("trp-paper");
    if (!box || !clock || !form) return;
    var left = parseInt(box.getAttribute("data-seconds-left") || "0", 10);
    var end = Date.now() + left * 1000;
    var sent = false;
    form.addEventListener("submit", function () {
      sent = true;
      var button = document.getElementById("trp-submit");
      if (button) button.disabled = true;
    });
    function tick() {
      var s = Math.max(0, Math.round((end - Date.now()) / 1000));
      clock.textContent = Math.floor(s / 60) + ":" + pad(s % 60);
      box.classList.toggle("trp-warn", s > 0 && s <= 60);
      if (s > 0) return;
      box.classList.add("trp-over");
      window.clearInterval(timer);
      if (sent) return;
      sent = true;
      var note = document.createElement("p");
      note.className = "small";
      note.setAttribute("role", "status");
      note.textContent = box.getAttribute("data-time-up") || "";
      box.appendChild(note);
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.submit();
    }
    var timer = window.setInterval(tick, 1000);
    tick();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
