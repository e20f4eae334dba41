// Keeps a page current without a reload (every 30 s, fetch it again and swap <main>), and
// shows each <time datetime> in the reader's time zone (the page's text says UTC).
(function () {
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      el.title = el.textContent;
      el.textContent = at.toLocaleString(undefined, {
        day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit", timeZoneName: "short"
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
  var main = document.querySelector("main[data-refresh]");
  if (!main) return;
  setInterval(function () {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        if (fresh) { main.innerHTML = fresh.innerHTML; localTimes(main); }
      })
      .catch(function () {});
  }, 30000);
})();
