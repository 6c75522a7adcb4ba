// Progressive enhancement shared by the staff pages; every page works without it.
// 1. After a failed save the error summary takes the focus (where autofocus was not honoured).
// 2. Copy and share buttons (`data-copy` / `data-share` name the field holding the link) appear
//    only where the browser can do it; the link itself is always on the page to select by hand.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary && document.activeElement !== summary) summary.focus();
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = button.getAttribute("data-done");
      });
    });
  });
  document.querySelectorAll("[data-share]").forEach(function (button) {
    var field = document.querySelector(button.getAttribute("data-share"));
    if (!field || !navigator.share) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({ title: button.getAttribute("data-title") || document.title, url: field.value }).catch(function () {});
    });
  });
  document.querySelectorAll("input[readonly][data-select]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
