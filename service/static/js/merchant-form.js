// Progressive enhancement for the merchant form; the form works without it.
// 1. "Use the tablet's location" fills lat/lon from the browser's geolocation.
// 2. Changing province or commune reloads the village and team lists (the same server round
//    trip as the "update lists" button, which this script removes).
(function () {
  "use strict";
  var form = document.querySelector("form.form");
  if (!form) return;
  // The buttons only a script-less page needs are removed, not hidden: a hidden submit button
  // would still be the one Enter presses if it came first.
  var refresh = form.querySelector("button[name=_refresh]");
  if (refresh) {
    refresh.remove();
    form.querySelectorAll(".nojs-save").forEach(function (el) { el.remove(); });
    form.querySelectorAll("select[data-refresh]").forEach(function (select) {
      select.addEventListener("change", function () {
        var flag = document.createElement("input");
        flag.type = "hidden";
        flag.name = "_refresh";
        flag.value = "1";
        form.appendChild(flag);
        form.submit();
      });
    });
  }
  var locate = document.getElementById("locate");
  var status = document.getElementById("locate-status");
  if (!locate || !("geolocation" in navigator)) return;
  locate.hidden = false;
  locate.addEventListener("click", function () {
    status.hidden = false;
    status.textContent = status.dataset.busy;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        document.getElementById("lat").value = position.coords.latitude.toFixed(6);
        document.getElementById("lon").value = position.coords.longitude.toFixed(6);
        status.hidden = true;
      },
      function () { status.textContent = status.dataset.failed; },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });
})();
