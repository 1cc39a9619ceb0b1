// Page-side code of the glass-to-glass measurement, injected with page.addInitScript /
// page.evaluate. The sending page draws a clock into a 1920x1080 canvas: the time of drawing
// (performance.timeOrigin + performance.now(), ms, modulo 2^24) and a frame counter as a row
// of 32 black/white blocks (60x60 px each) with a second row holding the complement, so a
// frame read back wrongly (compression, a half-decoded frame) fails the check instead of
// giving a wrong figure. The receiving page reads each decoded frame as it is presented
// (requestVideoFrameCallback + drawImage + getImageData) and records display time minus
// drawing time. Both pages run on one machine, so they share one clock.

/** Installs window.__g2gCanvas() in the page (an init script): a canvas stream with the clock. */
export function installClock() {
  const W = 1920;
  const H = 1080;
  const BITS = 32;
  const B = W / BITS;
  const state = { canvas: null, ctx: null, n: 0, x: 0, timer: null };
  const draw = () => {
    const { ctx } = state;
    const t = Math.round(performance.timeOrigin + performance.now()) % 2 ** 24;
    const word = ((t << 8) | (state.n++ & 0xff)) >>> 0;
    for (let i = 0; i < BITS; i++) {
      const bit = (word >>> (BITS - 1 - i)) & 1;
      ctx.fillStyle = bit ? '#fff' : '#000';
      ctx.fillRect(i * B, 0, B, B);
      ctx.fillStyle = bit ? '#000' : '#fff';
      ctx.fillRect(i * B, B, B, B);
    }
    // Some motion below the clock, so the encoder has work like a real screen.
    ctx.fillStyle = '#203040';
    ctx.fillRect(state.x, 300, 240, 240);
    state.x = (state.x + 12) % (W - 240);
    ctx.fillStyle = `hsl(${(state.n * 3) % 360} 70% 50%)`;
    ctx.fillRect(state.x, 300, 240, 240);
  };
  window.__g2gCanvas = (fps = 30) => {
    if (!state.canvas) {
      const c = document.createElement('canvas');
      c.width = W;
      c.height = H;
      state.canvas = c;
      state.ctx = c.getContext('2d');
      state.ctx.fillStyle = '#406080';
      state.ctx.fillRect(0, 0, W, H);
      // Redrawn every 4 ms: a captured frame shows a clock at most ~4 ms old.
      state.timer = setInterval(draw, 4);
      draw();
    }
    return state.canvas.captureStream(fps);
  };
}

/** Starts reading the clock from `video` (a selector or element) into window.__g2g[label]. */
export function startReader({ selector, label }) {
  const BITS = 32;
  const video = typeof selector === 'string' ? document.querySelector(selector) : selector;
  if (!video) throw new Error(`no video ${selector}`);
  const rec = ((window.__g2g ??= {})[label] = { samples: [], bad: 0, frames: 0, stop: false, width: 0 });
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const onFrame = (_now, md) => {
    if (rec.stop) return;
    rec.frames++;
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (vw && vh) {
      rec.width = vw;
      const scale = vw / 1920;
      const b = 60 * scale;
      const rows = Math.ceil(2 * b);
      if (canvas.width !== vw || canvas.height !== rows) {
        canvas.width = vw;
        canvas.height = rows;
      }
      ctx.drawImage(video, 0, 0, vw, rows, 0, 0, vw, rows);
      const px = ctx.getImageData(0, 0, vw, rows).data;
      const lum = (x, y) => {
        const i = (Math.round(y) * vw + Math.round(x)) * 4;
        return (px[i] + px[i + 1] + px[i + 2]) / 3;
      };
      let word = 0;
      let ok = true;
      for (let i = 0; i < BITS; i++) {
        const cx = (i + 0.5) * b;
        const top = lum(cx, b / 2) > 128 ? 1 : 0;
        const bottom = lum(cx, 1.5 * b) > 128 ? 1 : 0;
        if (top === bottom) ok = false;
        word = ((word << 1) | top) >>> 0;
      }
      if (ok) {
        const sent = word >>> 8;
        const shown = Math.round(performance.timeOrigin + (md.expectedDisplayTime ?? performance.now())) % 2 ** 24;
        const received = md.receiveTime !== undefined ? Math.round(performance.timeOrigin + md.receiveTime) % 2 ** 24 : null;
        const mod = (x) => ((x % 2 ** 24) + 2 ** 24) % 2 ** 24;
        rec.samples.push({ g2g: mod(shown - sent), recv: received === null ? null : mod(received - sent), frame: word & 0xff });
      } else {
        rec.bad++;
      }
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}
