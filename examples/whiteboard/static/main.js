// The classic Socket.IO whiteboard: every stroke is drawn locally and sent
// as a "drawing" event with coordinates relative to the canvas size (0..1),
// so boards of different sizes show the same picture. The server relays
// each "drawing" to every other client; no server code is needed beyond
// one relay rule (examples/whiteboard/whiteboard.yaml).
"use strict";

(function () {
  const socket = io();
  const canvas = document.getElementById("board");
  const context = canvas.getContext("2d");

  const current = { color: "black", x: 0, y: 0 };
  let drawing = false;

  for (const el of document.querySelectorAll(".color")) {
    el.addEventListener("click", () => {
      current.color = el.dataset.color;
      for (const other of document.querySelectorAll(".color")) other.classList.remove("active");
      el.classList.add("active");
    });
  }

  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("pointercancel", onUp);
  canvas.addEventListener("pointerout", onUp);
  canvas.addEventListener("pointermove", throttle(onMove, 10));

  socket.on("drawing", onDrawingEvent);

  window.addEventListener("resize", onResize);
  onResize();

  function drawLine(x0, y0, x1, y1, color, emit) {
    context.beginPath();
    context.moveTo(x0, y0);
    context.lineTo(x1, y1);
    context.strokeStyle = color;
    context.lineWidth = 2;
    context.stroke();
    context.closePath();

    if (!emit) return;
    const w = canvas.width;
    const h = canvas.height;
    socket.emit("drawing", {
      x0: x0 / w,
      y0: y0 / h,
      x1: x1 / w,
      y1: y1 / h,
      color,
    });
  }

  function onDown(e) {
    drawing = true;
    current.x = e.clientX;
    current.y = e.clientY;
  }

  function onUp(e) {
    if (!drawing) return;
    drawing = false;
    drawLine(current.x, current.y, e.clientX, e.clientY, current.color, true);
  }

  function onMove(e) {
    if (!drawing) return;
    drawLine(current.x, current.y, e.clientX, e.clientY, current.color, true);
    current.x = e.clientX;
    current.y = e.clientY;
  }

  // Limits how often fn runs: pointer events fire far more often than a
  // stroke needs segments.
  function throttle(fn, delay) {
    let last = 0;
    return function (...args) {
      const now = Date.now();
      if (now - last >= delay) {
        last = now;
        fn.apply(this, args);
      }
    };
  }

  function onDrawingEvent(data) {
    const w = canvas.width;
    const h = canvas.height;
    drawLine(data.x0 * w, data.y0 * h, data.x1 * w, data.y1 * h, data.color, false);
  }

  // Resizing clears a canvas: the board starts blank at the new size.
  function onResize() {
    canvas.width = window.innerWidth;
    canvas.height = window.innerHeight;
  }
})();
