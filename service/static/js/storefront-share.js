// The public storefront's share box: copy and share buttons appear where the browser can do it;
// the address itself is always on the page to select by hand.
(function () {
  "use strict";
  var url = document.getElementById("share-url");
  var copy = document.getElementById("copy-link");
  var share = document.getElementById("share-link");
  if (!url) return;
  url.addEventListener("focus", function () { url.select(); });
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(url.value).then(function () { copy.textContent = copy.dataset.done; });
    });
  }
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share({ title: document.title, url: url.value }).catch(function () {});
    });
  }
})();
