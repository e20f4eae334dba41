// Keeps a page current without a reload: every 30 s, fetch it again and swap <main>.
(function () {
  var main = document.querySelector("main[data-refresh]");
  if (!main) return;
  setInterval(function () {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        if (fresh) main.innerHTML = fresh.innerHTML;
      })
      .catch(function () {});
  }, 30000);
})();
