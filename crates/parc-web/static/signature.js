// Parc: signature pads (intervention sheets, hand-over receipts, loans, campaign reports). Each
// `[data-signature-pad]` draws with pointer events (finger, stylus or mouse) on its canvas and
// keeps the drawing as a PNG data URL in the hidden field named by `data-field`; a form does not
// submit while one of its pads is empty. Without this script the page shows how to sign on paper.
(function () {
  "use strict";
  var pads = document.querySelectorAll("[data-signature-pad]");
  if (!pads.length) return;
  document.querySelectorAll("[data-no-js]").forEach(function (el) { el.hidden = true; });
  pads.forEach(function (pad) {
    var canvas = pad.querySelector("canvas"), field = document.getElementById(pad.dataset.field);
    var form = pad.closest("form"), clear = pad.querySelector("[data-clear]"), empty = pad.querySelector("[data-empty]");
    pad.hidden = false;
    var ctx = canvas.getContext("2d"), drawing = false, drawn = false, last = null;
    function size() {
      // Keep the drawing sharp: the bitmap follows the displayed size and the pixel ratio.
      var ratio = window.devicePixelRatio || 1, box = canvas.getBoundingClientRect();
      canvas.width = Math.round(box.width * ratio); canvas.height = Math.round(box.height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#0b2a5b";
      drawn = false; field.value = "";
    }
    function point(e) { var box = canvas.getBoundingClientRect(); return { x: e.clientX - box.left, y: e.clientY - box.top }; }
    function line(a, b) { ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke(); }
    canvas.addEventListener("pointerdown", function (e) {
      e.preventDefault(); drawing = true; last = point(e);
      if (canvas.setPointerCapture) canvas.setPointerCapture(e.pointerId);
      line(last, { x: last.x + 0.1, y: last.y + 0.1 });
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      e.preventDefault(); var p = point(e); line(last, p); last = p; drawn = true;
    });
    function end() {
      if (!drawing) return;
      drawing = false; drawn = true; field.value = canvas.toDataURL("image/png"); if (empty) empty.hidden = true;
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", end);
    if (clear) clear.addEventListener("click", function () { ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; field.value = ""; });
    if (form && !pad.hasAttribute("data-optional")) {
      form.addEventListener("submit", function (e) {
        if (!drawn || !field.value) { e.preventDefault(); if (empty) empty.hidden = false; canvas.focus(); }
      });
    }
    size();
    window.addEventListener("resize", function () { if (!drawn) size(); });
  });
})();
