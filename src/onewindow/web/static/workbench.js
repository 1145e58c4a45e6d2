// Workbench case page: draws the case's process with bpmn-js (vendored) and marks where the
// case stands. Data comes from the JSON endpoint named in data-diagram-url (no inline script).
(function () {
  "use strict";
  function show(container, message) {
    var p = document.createElement("p");
    p.className = "muted wb-diagram-error";
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
          (data.done || []).forEach(function (id) {
            if (registry.get(id)) canvas.addMarker(id, "wb-done");
          });
          (data.current || []).forEach(function (id) {
            if (registry.get(id)) canvas.addMarker(id, "wb-current");
          });
        });
      })
      .catch(function () {
        show(container, failed);
      });
  }
  function start() {
    var container = document.getElementById("wb-diagram");
    if (container) draw(container);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
