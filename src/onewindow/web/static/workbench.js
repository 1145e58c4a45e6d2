// Draws a BPMN diagram with bpmn-js (vendored) in every element with a data-diagram-url: the
// workbench's case page (where the case stands) and the redesign studio (what a redesign adds).
// Data comes from that JSON endpoint (no inline script): {xml, done, current, markers}, markers
// being {css class: [element ids]}.
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
          Object.keys(data.markers || {}).forEach(function (marker) {
            data.markers[marker].forEach(function (id) {
              if (registry.get(id)) canvas.addMarker(id, marker);
            });
          });
          container.setAttribute("data-drawn", "yes");
        });
      })
      .catch(function () {
        show(container, failed);
      });
  }
  function start() {
    document.querySelectorAll("[data-diagram-url]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
