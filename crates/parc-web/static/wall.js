// Status wall: every N seconds (data-refresh on #wall), fetch the page again and swap the
// tiles in place, without a full reload. Without JavaScript, the <noscript> meta refresh
// reloads the page instead. After a failed fetch (server away, session ended) the wall says it
// is out of date and keeps trying.
(function () {
  "use strict";
  var wall = document.getElementById("wall");
  if (!wall || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = parseInt(wall.getAttribute("data-refresh"), 10);
  if (!(seconds >= 5 && seconds <= 600)) {
    seconds = 30;
  }
  function schedule() {
    window.setTimeout(refresh, seconds * 1000);
  }
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok || r.redirected) {
          throw new Error("status " + r.status);
        }
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("wall");
        if (!fresh) {
          throw new Error("no wall in the answer");
        }
        wall.innerHTML = fresh.innerHTML;
        wall.classList.remove("stale");
      })
      .catch(function () {
        wall.classList.add("stale");
      })
      .then(schedule);
  }
  schedule();
})();
