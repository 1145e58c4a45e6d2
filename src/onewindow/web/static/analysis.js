// Process analysis page: sliders that redraw on release, measure switch, and pan/zoom of
// the map (drag, wheel, buttons). No library; the CSP allows only this file.
(function () {
  "use strict";
  var form = document.getElementById("an-form");
  if (form) {
    form.querySelectorAll("input[type=range]").forEach(function (input) {
      var out = document.getElementById(input.getAttribute("data-out"));
      input.addEventListener("input", function () { if (out) { out.textContent = input.value + "%"; } });
      input.addEventListener("change", function () { form.requestSubmit(); });
    });
    form.querySelectorAll("input[name=measure]").forEach(function (input) {
      input.addEventListener("change", function () { form.requestSubmit(); });
    });
    // Empty fields stay out of the URL, so a link to a map is short and readable.
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (el) {
        if (el.name && !el.value && el.type !== "radio") { el.disabled = true; }
      });
    });
    window.addEventListener("pageshow", function () {
      form.querySelectorAll("input, select").forEach(function (el) { el.disabled = false; });
    });
  }
  var stage = document.getElementById("an-stage");
  var svg = stage && stage.querySelector("svg.an-map");
  if (!stage || !svg) { return; }
  var w = parseFloat(svg.getAttribute("width")), h = parseFloat(svg.getAttribute("height"));
  var view = { x: 0, y: 0, k: 1 };
  function apply() {
    svg.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" + view.k + ")";
  }
  function fit() {
    var k = Math.min(stage.clientWidth / w, stage.clientHeight / h, 1.5);
    view.k = k;
    view.x = (stage.clientWidth - w * k) / 2;
    view.y = Math.max(0, (stage.clientHeight - h * k) / 2);
    apply();
  }
  function zoom(factor, cx, cy) {
    var k = Math.max(0.05, Math.min(6, view.k * factor));
    view.x = cx - (cx - view.x) * (k / view.k);
    view.y = cy - (cy - view.y) * (k / view.k);
    view.k = k;
    apply();
  }
  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var kind = button.getAttribute("data-zoom");
      if (kind === "fit") { fit(); return; }
      zoom(kind === "in" ? 1.25 : 0.8, stage.clientWidth / 2, stage.clientHeight / 2);
    });
  });
  stage.addEventListener("wheel", function (e) {
    e.preventDefault();
    var box = stage.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - box.left, e.clientY - box.top);
  }, { passive: false });
  var drag = null, moved = false;
  stage.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) { return; }
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
    moved = false;
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
    moved = true;
    stage.classList.add("an-dragging");
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    apply();
  });
  window.addEventListener("pointerup", function () {
    drag = null;
    stage.classList.remove("an-dragging");
  });
  // A drag that ends on a link is a pan, not a click.
  stage.addEventListener("click", function (e) {
    if (moved) { e.preventDefault(); moved = false; }
  }, true);
  stage.addEventListener("keydown", function (e) {
    var step = 40;
    if (e.key === "+" || e.key === "=") { zoom(1.25, stage.clientWidth / 2, stage.clientHeight / 2); }
    else if (e.key === "-") { zoom(0.8, stage.clientWidth / 2, stage.clientHeight / 2); }
    else if (e.key === "ArrowLeft") { view.x += step; apply(); }
    else if (e.key === "ArrowRight") { view.x -= step; apply(); }
    else if (e.key === "ArrowUp") { view.y += step; apply(); }
    else if (e.key === "ArrowDown") { view.y -= step; apply(); }
    else { return; }
    e.preventDefault();
  });
  fit();
}());
// Conformance page: the deployed BPMN with a heat overlay of the tasks cases reached out of
// the model's order (bpmn-js vendored; data from the JSON named in data-src).
(function () {
  "use strict";
  var box = document.getElementById("an-bpmn");
  if (!box) { return; }
  function fail() {
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = box.getAttribute("data-error") || "";
    box.appendChild(p);
  }
  if (typeof window.BpmnJS !== "function") { fail(); return; }
  fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (data) {
      var viewer = new window.BpmnJS({ container: box });
      return viewer.importXML(data.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var overlays = viewer.get("overlays");
        canvas.zoom("fit-viewport", "auto");
        Object.keys(data.heat || {}).forEach(function (id) {
          if (!registry.get(id)) { return; }
          var cell = data.heat[id];
          canvas.addMarker(id, "an-dev-" + cell.level);
          var badge = document.createElement("span");
          badge.className = "an-dev-count";
          badge.textContent = String(cell.cases);
          overlays.add(id, { position: { top: -9, right: 12 }, html: badge });
        });
        box.setAttribute("data-drawn", "1");
      });
    })
    .catch(fail);
}());
