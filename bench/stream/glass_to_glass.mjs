// Glass-to-glass latency of a screen share, through our SFU and, for comparison, over a
// direct RTCPeerConnection between the same two pages. The sending page shares a canvas
// that draws a clock (clock.mjs) through the web client's own "Share screen" (its
// getDisplayMedia answers with the canvas's captureStream(30) track, so the preset, content
// hint and sender parameters are the client's); the receiving page watches it with "Watch
// stream" and reads the clock back from every presented frame. Same machine, one clock.
//
//   HYPE_BIN=build/release/src/app/hype node bench/stream/glass_to_glass.mjs [--seconds 20]
//        [--content text|game] [--only sfu|p2p]
//
// --content picks the client's content type: 'text' (the default here) keeps 1920x1080
// (maintain-resolution) so the figure is for full 1080p frames; 'game' keeps the frame rate
// and lets the encoder scale down while the bandwidth estimate ramps up.
// Needs web/dist built and tests/e2e/node_modules (npm ci in tests/e2e).
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { api, launch, loginUi, openUser, registerApi, setBase, sleep, until } from '../../tests/e2e/lib/browser.mjs';
import { startHype } from '../../tests/e2e/lib/server.mjs';
import { installClock, startReader } from './clock.mjs';

const { values: opt } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, content: { type: 'string', default: 'text' }, only: { type: 'string', default: '' } },
});
const CONTENT = opt.content === 'game' ? 'game' : 'text';
const SECONDS = Number(opt.seconds);
const HYPE_BIN = process.env.HYPE_BIN ?? 'build/release/src/app/hype';

const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))] : NaN;
};

function machine() {
  try {
    const model = execFileSync('lscpu', [], { encoding: 'utf8' }).match(/Model name:\s*(.*)/)?.[1]?.trim();
    return `${cpus().length} cores, ${model ?? cpus()[0].model}`;
  } catch {
    return `${cpus().length} cores, ${cpus()[0].model}`;
  }
}

/** Measures for SECONDS from the video in `selector` of `page`, then summarizes. */
async function measure(page, selector, label) {
  await page.evaluate(startReader, { selector, label });
  await sleep(2000); // let the bitrate ramp settle before counting
  await page.evaluate((l) => {
    const r = window.__g2g[l];
    r.samples = [];
    r.bad = 0;
    r.frames = 0;
  }, label);
  await sleep(SECONDS * 1000);
  const r = await page.evaluate((l) => {
    const rec = window.__g2g[l];
    rec.stop = true;
    return { samples: rec.samples, bad: rec.bad, frames: rec.frames, width: rec.width };
  }, label);
  const g = r.samples.map((s) => s.g2g);
  const recv = r.samples.map((s) => s.recv).filter((x) => x !== null);
  return {
    frames: r.frames,
    decoded: g.length,
    unreadable: r.bad,
    width: r.width,
    fps: +(r.frames / SECONDS).toFixed(1),
    p50: pct(g, 0.5),
    p95: pct(g, 0.95),
    max: Math.max(...g),
    receiveP50: recv.length ? pct(recv, 0.5) : null,
  };
}

/** Inbound video stats of the page's stream connection (or direct pc). */
function inboundVideo(page, which) {
  return page.evaluate(async (w) => {
    const pc = w === 'sfu' ? window.__hype.rtcService.streams.connection.pc : window.__direct;
    const r = await pc.getStats();
    let out = null;
    r.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && (!out || s.bytesReceived > out.bytesReceived)) out = s;
    });
    const codec = out?.codecId ? r.get(out.codecId)?.mimeType : null;
    return out && { codec, frameWidth: out.frameWidth, framesPerSecond: out.framesPerSecond, bytesReceived: out.bytesReceived, jitterBufferDelay: out.jitterBufferDelay, jitterBufferEmittedCount: out.jitterBufferEmittedCount, freezeCount: out.freezeCount };
  }, which);
}

async function bitrate(page, which) {
  const a = await inboundVideo(page, which);
  await sleep(2000);
  const b = await inboundVideo(page, which);
  return { ...b, mbps: +(((b.bytesReceived - a.bytesReceived) * 8) / 2 / 1e6).toFixed(2), jitterBufferMs: b.jitterBufferEmittedCount ? Math.round((b.jitterBufferDelay / b.jitterBufferEmittedCount) * 1000) : null };
}

/** Through the SFU: A shares with the client's own UI (1080p30 preset), B watches. */
async function viaSfu(A, B, aId) {
  await A.page.getByLabel('Stream quality').selectOption('1080p30');
  await A.page.getByLabel('Content type').selectOption(CONTENT);
  await A.page.getByRole('button', { name: 'Share screen' }).click();
  const tile = B.page.locator(`.stream-tile[data-user-id="${aId}"]`);
  await tile.getByRole('button', { name: 'Watch stream' }).click({ timeout: 20_000 });
  const video = `.stream-tile[data-user-id="${aId}"] video`;
  await until(() => B.page.evaluate((sel) => (document.querySelector(sel)?.videoWidth ?? 0) > 0, video), { timeout: 20_000, what: 'B decodes the stream' });
  const r = await measure(B.page, video, 'sfu');
  r.stats = await bitrate(B.page, 'sfu');
  await A.page.getByRole('button', { name: 'Stop sharing' }).click();
  await tile.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
  return r;
}

/** A direct RTCPeerConnection between the same pages: same canvas, same sender limits. */
async function direct(A, B) {
  await A.page.evaluate(async (content) => {
    const pc = (window.__direct = new RTCPeerConnection());
    const track = window.__g2gCanvas(30).getVideoTracks()[0];
    track.contentHint = content === 'text' ? 'detail' : 'motion';
    const tr = pc.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ maxBitrate: 6_000_000, maxFramerate: 30 }] });
    const p = tr.sender.getParameters();
    p.degradationPreference = content === 'text' ? 'maintain-resolution' : 'maintain-framerate';
    await tr.sender.setParameters(p).catch(() => {});
  }, CONTENT);
  await B.page.evaluate(() => {
    const pc = (window.__direct = new RTCPeerConnection());
    const v = document.createElement('video');
    v.id = 'direct';
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    document.body.append(v);
    pc.ontrack = (ev) => {
      v.srcObject = new MediaStream([ev.track]);
      void v.play();
    };
  });
  const gathered = (page) =>
    page.evaluate(
      () =>
        new Promise((res) => {
          const pc = window.__direct;
          if (pc.iceGatheringState === 'complete') return res(pc.localDescription.toJSON());
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && res(pc.localDescription.toJSON());
        }),
    );
  await A.page.evaluate(async () => window.__direct.setLocalDescription(await window.__direct.createOffer()));
  const offer = await gathered(A.page);
  await B.page.evaluate(async (o) => {
    await window.__direct.setRemoteDescription(o);
    await window.__direct.setLocalDescription(await window.__direct.createAnswer());
  }, offer);
  const answer = await gathered(B.page);
  await A.page.evaluate((a) => window.__direct.setRemoteDescription(a), answer);
  await until(() => B.page.evaluate(() => (document.querySelector('#direct')?.videoWidth ?? 0) > 0), { timeout: 20_000, what: 'B decodes the direct stream' });
  const r = await measure(B.page, '#direct', 'p2p');
  r.stats = await bitrate(B.page, 'p2p');
  return r;
}

const sfuPort = 45000 + Math.floor(Math.random() * 2000);
const hype = await startHype({ own: true, bin: HYPE_BIN, env: { HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(sfuPort) } });
setBase(hype.url);
const out = { command: `HYPE_BIN=${HYPE_BIN} node bench/stream/glass_to_glass.mjs --seconds ${SECONDS} --content ${CONTENT}${opt.only ? ` --only ${opt.only}` : ''}`, machine: machine(), loadBefore: loadavg()[0].toFixed(2) };
let browser;
try {
  browser = await launch();
  const stamp = Date.now().toString(36).slice(-5);
  const names = [`g2g_a_${stamp}`, `g2g_b_${stamp}`];
  const auth = [];
  for (const n of names) auth.push(await registerApi(n));
  const g = await api('POST', '/guilds', { name: 'Glass to glass' }, auth[0].access_token);
  const invite = (await api('POST', `/guilds/${g.id}/invites`, {}, auth[0].access_token)).code;
  await api('POST', `/invites/${invite}`, undefined, auth[1].access_token);

  const A = await openUser(browser);
  await A.context.addInitScript(installClock);
  await A.context.addInitScript(() => {
    navigator.mediaDevices.getDisplayMedia = async () => window.__g2gCanvas(30);
  });
  await A.page.reload();
  await loginUi(A.page, names[0]);
  const B = await openUser(browser);
  await loginUi(B.page, names[1]);
  for (const u of [A, B]) {
    await u.page.evaluate(() => window.__hype.rtcService.setMute(true));
    await u.page.getByRole('button', { name: 'Join voice' }).click();
    await u.page.getByRole('button', { name: 'Leave voice' }).waitFor();
  }

  if (opt.only !== 'p2p') out.sfu = await viaSfu(A, B, auth[0].user.id);
  if (opt.only !== 'sfu') out.p2p = await direct(A, B);
  if (out.sfu && out.p2p) out.ratio = { p50: +(out.sfu.p50 / out.p2p.p50).toFixed(2), p95: +(out.sfu.p95 / out.p2p.p95).toFixed(2) };
  out.loadAfter = loadavg()[0].toFixed(2);
} finally {
  await browser?.close().catch(() => {});
  await hype.stop();
}

console.log(`command: ${out.command}`);
console.log(`machine: ${out.machine} (load ${out.loadBefore} -> ${out.loadAfter})`);
for (const k of ['sfu', 'p2p']) {
  const r = out[k];
  if (!r) continue;
  console.log(
    `${k.padEnd(4)} glass-to-glass p50 ${r.p50} ms, p95 ${r.p95} ms, max ${r.max} ms (${r.decoded}/${r.frames} frames read, ${r.unreadable} unreadable, ${r.fps} fps presented, ${r.width} px wide); ` +
      `receive p50 ${r.receiveP50} ms; ${r.stats?.codec} ${r.stats?.mbps} Mbps, jitter buffer ${r.stats?.jitterBufferMs} ms, freezes ${r.stats?.freezeCount}`,
  );
}
if (out.ratio) console.log(`ratio SFU/P2P: p50 ${out.ratio.p50}, p95 ${out.ratio.p95}`);
console.log(JSON.stringify(out));
