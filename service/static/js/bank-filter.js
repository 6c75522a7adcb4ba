// Filters the bank list while typing (accent-insensitive); without it, the "Tìm" button does the same.
(function () {
  "use strict";
  var input = document.getElementById("bank_q"), select = document.getElementById("bank_bin");
  var button = document.getElementById("bank-filter");
  if (!input || !select) return;
  var fold = function (s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase().replace(/\s+/g, "");
  };
  // Removed, not hidden: a hidden submit button that comes first is still the one Enter presses.
  if (button) button.remove();
  document.querySelectorAll("#account-form .nojs-save").forEach(function (el) { el.remove(); });
  input.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
  input.addEventListener("input", function () {
    var q = fold(input.value), first = null;
    Array.prototype.forEach.call(select.options, function (o) {
      var show = !q || fold(o.dataset.search || o.text).indexOf(q) !== -1;
      o.hidden = !show;
      if (show && !first) first = o;
    });
    if (first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) first.selected = true;
  });
})();
