/* Progress pages refresh themselves while work runs: an element with data-auto-refresh="N"
   (rendered only while a run is queued or running) reloads the page every N seconds; once the
   work is done the page renders without it and the refreshing stops. No inline script (CSP). */
(function () {
  "use strict";
  function start() {
    var holder = document.querySelector("[data-auto-refresh]");
    if (!holder) { return; }
    var seconds = parseInt(holder.getAttribute("data-auto-refresh"), 10);
    if (!(seconds >= 2)) { seconds = 5; }
    window.setTimeout(function () {
      if (document.visibilityState === "hidden") { start(); return; }
      window.location.reload();
    }, seconds * 1000);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
