// Progressive enhancement shared by the staff pages; every form works without it.
// After a failed save the error summary takes the focus where autofocus was not honoured.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary && document.activeElement !== summary) summary.focus();
})();
