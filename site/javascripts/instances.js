// Instance pages: the "Open all" button opens (or closes) every instance of the page at once.
(function () {
  "use strict";

  function prepare() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-crfm-toggle]"), function (button) {
      if (button.getAttribute("data-ready")) return;
      button.setAttribute("data-ready", "1");
      button.addEventListener("click", function () {
        var open = button.textContent === "Open all";
        Array.prototype.forEach.call(document.querySelectorAll("details.crfm-instance"), function (details) {
          details.open = open;
        });
        document.querySelectorAll("[data-crfm-toggle]").forEach(function (other) {
          other.textContent = open ? "Close all" : "Open all";
        });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", prepare);
  } else {
    prepare();
  }
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(prepare);
  }
})();
