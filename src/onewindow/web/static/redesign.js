// Redesign studio: draws a proposal's BPMN with bpmn-js (vendored) and marks the elements the
// redesign added. Data comes from the JSON endpoint named in data-diagram-url (no inline script).
(function () {
  "use strict";
  function show(container, message) {
    var p = document.createElement("p");
    p.className = "muted rd-diagram-error";
    p.textContent = message;
    container.appendChild(p);
  }
  function draw(container) {
    var url = container.getAttribute("data-diagram-url");
    var failed = container.getAttribute("data-error") || "";
    if (!url || typeof window.BpmnJS !== "function") {
      show(container, failed);
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        var viewer = new window.BpmnJS({ container: container });
        return viewer.importXML(data.xml).then(function () {
          var canvas = viewer.get("canvas");
          var registry = viewer.get("elementRegistry");
          canvas.zoom("fit-viewport", "auto");
          (data.added || []).forEach(function (id) {
            if (registry.get(id)) canvas.addMarker(id, "rd-added");
          });
          container.setAttribute("data-drawn", "yes");
        });
      })
      .catch(function () {
        show(container, failed);
      });
  }
  function start() {
    var container = document.getElementById("rd-diagram");
    if (container) draw(container);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
