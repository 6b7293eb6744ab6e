// Progressive enhancement only: every page works without this file.
// A live "characters left" counter for textareas with data-counter.
(function () {
  "use strict";
  function attach(area) {
    var out = document.getElementById(area.getAttribute("data-counter"));
    var max = parseInt(area.getAttribute("maxlength"), 10) || 250;
    if (!out) return;
    function update() {
      // Count code points, as the server does, not UTF-16 units.
      var left = max - Array.from(area.value).length;
      out.textContent = left === 1 ? "1 character left" : left + " characters left";
      out.classList.toggle("low", left <= 20 && left >= 0);
      out.classList.toggle("over", left < 0);
    }
    area.addEventListener("input", update);
    update();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-counter]").forEach(attach);
  });
})();
