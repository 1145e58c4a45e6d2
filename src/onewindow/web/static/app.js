// onewindow pages: the few behaviours that need script. No inline scripts anywhere (CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var print = target.closest("[data-print]");
    if (print) {
      event.preventDefault();
      window.print();
      return;
    }
    var confirmer = target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
