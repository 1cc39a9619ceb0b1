// Adaptive screen share on a changing link (issue 15), the full version of
// tests/e2e/simulcast_adapt.test.mjs: an RFC 8867-style capacity schedule (x1.0, x2.5, x0.6,
// x1.0 of a base capacity) on a weak viewer's downlink (a netns-lab namespace, tbf), while a
// streamer and a good viewer sit in the root namespace. Samples the weak viewer every 250 ms
// (received bitrate, frame width = layer, freezes) and reads the SFU's estimate for it from the
// server's trace log; prints time to adapt down and up, freezes, the link use per step and the
// good viewer's and streamer's change, writes the series as JSON and plots it (gnuplot).
//
//   HYPE_BIN=build/release/src/app/hype node bench/video/adapt.mjs \
//     [--base 0.8] [--step 15] [--out /tmp/hype-adapt] [--png docs/benchmarks/adapt.png] \
//     [--content fake|testsrc2] [--schedule 10,4,1.5,10] [--mode hype|p2p]
//
// --base is in Mbit/s: Chromium's fake 1080p screen codes its three layers in about 0.2, 0.7
// and 1.1 Mbit/s, so a base of 0.8 puts the x0.6 step below the middle layer and the x2.5 one
// above the top. --schedule gives the capacities (Mbit/s) instead. --content testsrc2 makes
// the streamer's "screen" ffmpeg's testsrc2 pattern at 1080p30 (about 6 Mbit/s at the top
// layer, enough for the issue's 10 -> 4 -> 1.5 -> 10 Mbit/s schedule): Chromium plays a file
// only as a fake camera, so the streamer's page gets getUserMedia's track from
// getDisplayMedia (the client's path from the track on is the same). Needs root (ip netns,
// tc) and, for testsrc2, ffmpeg.
//
// --mode p2p is the reference: the same streamer capture and the same weak link, but one
// Chromium RTCPeerConnection from the streamer straight to the weak viewer (one VP8 encoding
// at the client's 1080p30 settings: 6 Mbit/s, contentHint and degradationPreference of its
// "text" content type), so Chromium's own sender-side estimate and encoder adaptation follow
// the link instead of the SFU's layer choice. The plot's estimate is then the streamer's
// (availableOutgoingBitrate); no good viewer, no SFU decisions.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { api, joinVoiceMuted, launch, loginUi, myId, openUser, registerApi, setBase, sleep, streamTile, uniqueName, until } from '../../tests/e2e/lib/browser.mjs';
import { netnsLab, netnsSkip } from '../../tests/e2e/lib/netns_lab.mjs';
import { startHype } from '../../tests/e2e/lib/server.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string', default: '0.8' },
    step: { type: 'string', default: '15' },
    out: { type: 'string', default: '/tmp/hype-adapt' },
    png: { type: 'string' },
    content: { type: 'string', default: 'fake' },
    schedule: { type: 'string' },
    mode: { type: 'string', default: 'hype' },
  },
});
if (netnsSkip) {
  console.error(`adapt: ${netnsSkip}`);
  process.exit(2);
}
const BASE = Number(opt.base);
const STEP_S = Number(opt.step);
const SCHEDULE = opt.schedule ? opt.schedule.split(',').map(Number) : [1.0, 2.5, 0.6, 1.0].map((f) => +(BASE * f).toFixed(3));
if (SCHEDULE.some((c) => !(c > 0))) throw new Error(`adapt: bad --schedule ${opt.schedule}`);
if (!['fake', 'testsrc2'].includes(opt.content)) throw new Error(`adapt: --content fake|testsrc2, not ${opt.content}`);
if (!['hype', 'p2p'].includes(opt.mode)) throw new Error(`adapt: --mode hype|p2p, not ${opt.mode}`);
const P2P = opt.mode === 'p2p';
if (P2P && opt.content !== 'testsrc2') throw new Error('adapt: --mode p2p needs --content testsrc2 (the fake screen exists only for getDisplayMedia)');
mkdirSync(opt.out, { recursive: true });
console.log(`command: node bench/video/adapt.mjs ${opt.schedule ? `--schedule ${opt.schedule}` : `--base ${BASE}`} --step ${STEP_S} --content ${opt.content} --mode ${opt.mode}`);
console.log(`machine: ${cpus().length} x ${cpus()[0].model}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`schedule (Mbit/s, ${STEP_S} s each): ${SCHEDULE.join(' -> ')}`);

const LAYER_OF_WIDTH = { 640: 0, 1280: 1, 1920: 2 };

function inbound(page, userId) {
  return page.evaluate(async (uid) => {
    const link = window.__hype.rtcService.streams.connection;
    if (!link) return null;
    const byMid = new Map([...link.signaling.sections.values()].map((s) => [s.mid, s]));
    let out = null;
    let transport = 0;
    (await link.pc.getStats()).forEach((s) => {
      if (s.type === 'transport') transport += s.bytesReceived ?? 0;
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      const sec = byMid.get(s.mid);
      if (!sec || !sec.active || sec.userId !== uid) return;
      out = { width: s.frameWidth ?? 0, frames: s.framesDecoded ?? 0, freezeCount: s.freezeCount ?? 0, freezeSecs: s.totalFreezesDuration ?? 0, video: s.bytesReceived ?? 0 };
    });
    return out && { ...out, t: performance.now(), transport };
  }, userId);
}

function topLayerBytes(page) {
  return page.evaluate(async () => {
    let b = 0;
    (await window.__hype.rtcService.streams.connection.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid === 'f') b = s.bytesSent ?? 0;
    });
    return { b, t: performance.now() };
  });
}


// --mode p2p: the viewer's inbound video and transport bytes, as inbound() gives them.
function inboundP2P(page) {
  return page.evaluate(async () => {
    let out = null;
    let transport = 0;
    (await window.__p2p.pc.getStats()).forEach((s) => {
      if (s.type === 'transport') transport += s.bytesReceived ?? 0;
      if (s.type === 'inbound-rtp' && s.kind === 'video') out = { width: s.frameWidth ?? 0, frames: s.framesDecoded ?? 0, freezeCount: s.freezeCount ?? 0, freezeSecs: s.totalFreezesDuration ?? 0, video: s.bytesReceived ?? 0 };
    });
    return out && { ...out, t: performance.now(), transport };
  });
}

// --mode p2p: the streamer's bytes sent and its sender-side estimate.
function outboundP2P(page) {
  return page.evaluate(async () => {
    let b = 0;
    let estimate = 0;
    (await window.__p2p.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') b = s.bytesSent ?? 0;
      if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) estimate = s.availableOutgoingBitrate;
    });
    return { b, t: performance.now(), estimate };
  });
}

// --mode p2p: the streamer's page captures (1080p30) and offers one VP8 encoding with the web
// client's 1080p30 "text" settings; the viewer's page answers (after a getUserMedia of its
// own, so Chromium shows it real host candidates instead of mDNS names); no trickle.
async function connectP2P(streamer, viewer) {
  const offer = await streamer.evaluate(async () => {
    const pc = new RTCPeerConnection();
    window.__p2p = { pc };
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 1920, height: 1080, frameRate: 30 }, audio: false });
    const track = media.getVideoTracks()[0];
    track.contentHint = 'detail';
    const tr = pc.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ maxBitrate: 6_000_000, maxFramerate: 30 }] });
    const codecs = RTCRtpSender.getCapabilities('video').codecs;
    tr.setCodecPreferences([...codecs.filter((c) => /vp8/i.test(c.mimeType)), ...codecs.filter((c) => !/vp8|vp9|av1|h264|h265/i.test(c.mimeType))]);
    const params = tr.sender.getParameters();
    params.degradationPreference = 'maintain-resolution';
    await tr.sender.setParameters(params);
    await pc.setLocalDescription();
    await new Promise((r) => (pc.iceGatheringState === 'complete' ? r() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())));
    return pc.localDescription.sdp;
  });
  const answer = await viewer.evaluate(async (sdp) => {
    (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => t.stop());
    const pc = new RTCPeerConnection();
    window.__p2p = { pc };
    pc.ontrack = (e) => {
      const v = document.createElement('video');
      v.muted = true;
      v.autoplay = true;
      v.srcObject = new MediaStream([e.track]);
      document.body.append(v);
    };
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription();
    await new Promise((r) => (pc.iceGatheringState === 'complete' ? r() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())));
    return pc.localDescription.sdp;
  }, offer);
  await streamer.evaluate((sdp) => window.__p2p.pc.setRemoteDescription({ type: 'answer', sdp }), answer);
}


const lab = netnsLab(`adapt${process.pid}-`);
let server;
let rootBrowser;
try {
  await lab.destroyAll();
  const ns = await lab.client('weak', { net: '10.91', down: `${SCHEDULE[0]}mbit`, up: '10mbit' });
  server = await startHype({
    own: true,
    host: ns.hub,
    env: { HYPE_LOG_LEVEL: process.env.HYPE_LOG_LEVEL ?? 'trace', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(44000 + Math.floor(Math.random() * 2000)), HYPE_SFU_ANNOUNCED_IP: ns.hub, HYPE_SFU_BIND_IP: ns.hub },
  });
  setBase(server.url);
  const rootArgs = [`--unsafely-treat-insecure-origin-as-secure=${server.url}`];
  if (opt.content === 'testsrc2') {
    const clip = join(opt.out, 'testsrc2-1080p30.mjpeg');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '4', '-c:v', 'mjpeg', '-q:v', '3', clip]);
    rootArgs.push(`--use-file-for-fake-video-capture=${clip}`);
  }
  rootBrowser = await launch({ args: rootArgs });
  const weakBrowser = await ns.launchChromium({ origins: [server.url] });
  const u = {};
  if (P2P) {
    u.a = await openUser(rootBrowser);
    u.b = await openUser(weakBrowser);
    await connectP2P(u.a.page, u.b.page);
    await until(async () => (await inboundP2P(u.b.page))?.frames > 0, { what: 'the P2P viewer decodes', timeout: 40_000 });
  } else {
    const names = { a: uniqueName('streamer'), b: uniqueName('weak'), c: uniqueName('good') };
    const auth = {};
    for (const [k, n] of Object.entries(names)) auth[k] = await registerApi(n);
    const guild = await api('POST', '/guilds', { name: 'Adapt' }, auth.a.access_token);
    const invite = (await api('POST', `/guilds/${guild.id}/invites`, {}, auth.a.access_token)).code;
    for (const k of ['b', 'c']) await api('POST', `/invites/${invite}`, undefined, auth[k].access_token);
    for (const [k, browser] of [['a', rootBrowser], ['c', rootBrowser], ['b', weakBrowser]]) {
      u[k] = await openUser(browser);
      if (k === 'a' && opt.content === 'testsrc2') {
        await u[k].context.addInitScript(() => {
          navigator.mediaDevices.getDisplayMedia = (o) => navigator.mediaDevices.getUserMedia({ video: typeof o?.video === 'object' ? o.video : true, audio: false });
        });
        await u[k].page.reload();
      }
      await loginUi(u[k].page, names[k]);
      u[k].id = await myId(u[k].page);
    }
    for (const k of ['a', 'b', 'c']) await joinVoiceMuted(u[k], { timeout: 30_000 });
    await u.a.page.getByLabel('Stream quality').selectOption('1080p30');
    await u.a.page.getByLabel('Content type').selectOption('text');
    await u.a.page.getByRole('button', { name: 'Share screen' }).click();
    await u.a.page.getByRole('button', { name: 'Stop sharing' }).waitFor();
    for (const k of ['b', 'c']) await streamTile(u[k].page, u.a.id).getByRole('button', { name: 'Watch stream' }).click({ timeout: 20_000 });
    for (const k of ['b', 'c']) await until(async () => (await inbound(u[k].page, u.a.id))?.frames > 0, { what: `${k} decodes`, timeout: 40_000 });
  }
  // The weak viewer, the good viewer (P2P: none) and the streamer's top layer (P2P: its one
  // encoding, with its estimate).
  const weakStats = () => (P2P ? inboundP2P(u.b.page) : inbound(u.b.page, u.a.id));
  const goodStats = () => (P2P ? Promise.resolve(null) : inbound(u.c.page, u.a.id));
  const topStats = () => (P2P ? outboundP2P(u.a.page) : topLayerBytes(u.a.page));
  // P2P: the viewer's frame rate on the full link stands in for the good viewer's.
  const ref0 = P2P ? await weakStats() : null;
  await sleep(3000);
  const ref1 = P2P ? await weakStats() : null;

  // The schedule, sampled every 250 ms.
  const samples = [];
  const t0 = Date.now();
  const good0 = await goodStats();
  const top0 = await topStats();
  let goodMin = good0?.width ?? 0;
  let prev = await weakStats();
  const senderEstimates = []; // P2P: the streamer's own estimate
  const cutAt = []; // when each step's capacity was set (s from t0; the loop's samples lag)
  for (let i = 0; i < SCHEDULE.length; i++) {
    ns.set({ down: `${SCHEDULE[i]}mbit` });
    cutAt.push((Date.now() - t0) / 1000);
    const stepEnd = t0 + (i + 1) * STEP_S * 1000;
    while (Date.now() < stepEnd) {
      await sleep(250);
      const s = await weakStats();
      const g = await goodStats();
      if (g) goodMin = Math.min(goodMin, g.width);
      if (P2P) {
        const o = await topStats();
        senderEstimates.push({ t: (Date.now() - t0) / 1000, kbps: o.estimate / 1000 });
      }
      if (!s) continue;
      const dt = (s.t - prev.t) / 1000;
      samples.push({
        t: (Date.now() - t0) / 1000,
        step: i,
        cap: SCHEDULE[i],
        kbps: dt > 0 ? ((s.transport - prev.transport) * 8) / dt / 1000 : 0,
        video_kbps: dt > 0 ? ((s.video - prev.video) * 8) / dt / 1000 : 0,
        fps: dt > 0 ? (s.frames - prev.frames) / dt : 0,
        width: s.width,
        layer: LAYER_OF_WIDTH[s.width] ?? (s.width >= 1920 ? 2 : s.width >= 1280 ? 1 : s.width >= 640 ? 0 : -1),
        freezeCount: s.freezeCount,
        freezeSecs: s.freezeSecs,
      });
      prev = s;
    }
  }
  const good1 = await goodStats();
  const top1 = await topStats();

  writeFileSync(join(opt.out, 'server.log'), server.log());
  // The SFU's estimate for the weak viewer's stream connection (user id with bit 63 set).
  const weakPid = P2P ? null : (BigInt(u.b.id) | (1n << 63n)).toString();
  const startIso = new Date(t0).toISOString().slice(0, 23);
  const estimates = P2P ? senderEstimates : [];
  for (const line of P2P ? [] : server.log().split('\n')) {
    const m = line.match(/^(\S+) trace sfu: room \d+ viewer (\d+) estimate (\d+) bps/);
    if (!m || m[2] !== weakPid) continue;
    const t = (Date.parse(`${m[1]}Z`) - Date.parse(`${startIso}Z`)) / 1000;
    if (t >= 0 && t <= SCHEDULE.length * STEP_S) estimates.push({ t, kbps: Number(m[3]) / 1000 });
  }

  // The SFU's decisions for the weak viewer (debug log): spatial layer and temporal step.
  const decisions = [];
  for (const line of server.log().split('\n')) {
    const m = line.match(/^(\S+) debug sfu: room \d+ viewer (\d+) stream of \d+: layer (-?\d+) -> (-?\d+) temporal (-?\d+) -> (-?\d+)/);
    if (!m || m[2] !== weakPid) continue;
    const t = (Date.parse(`${m[1]}Z`) - Date.parse(`${startIso}Z`)) / 1000;
    if (t >= 0 && t <= SCHEDULE.length * STEP_S) decisions.push({ t, spatial: Number(m[4]), temporal: Number(m[6]) });
  }

  // Figures: adaptation after each change, freezes, link use in the settled part of each step.
  // Down: the SFU's first decision after the cut, and when the received rate (1 s average)
  // first fits the new capacity. Up: the first decision, and when the viewer first shows the
  // top layer at >= 80 % of the good viewer's frame rate (1 s average).
  const changeAt = (i) => cutAt[i];
  const goodFps = P2P ? (ref1.frames - ref0.frames) / ((ref1.t - ref0.t) / 1000) : (good1.frames - good0.frames) / ((good1.t - good0.t) / 1000);
  const window1s = (k) => samples.slice(k, k + 4);
  const avg = (xs, f) => xs.reduce((a, x) => a + f(x), 0) / Math.max(1, xs.length);
  const adapt = [];
  for (let i = 1; i < SCHEDULE.length; i++) {
    const down = SCHEDULE[i] < SCHEDULE[i - 1];
    const decision = decisions.find((d) => d.t >= changeAt(i) && d.t < (cutAt[i + 1] ?? Infinity));
    const k = samples.findIndex((x, j) => {
      if (x.step !== i) return false;
      const w = window1s(j);
      if (w.length < 4 || w.some((y) => y.step !== i)) return false;
      return down ? avg(w, (y) => y.kbps) <= SCHEDULE[i] * 1000 : w.every((y) => y.width === 1920) && avg(w, (y) => y.fps) >= 0.8 * goodFps;
    });
    const hit = k >= 0 ? samples[k] : null;
    adapt.push({
      at_s: +changeAt(i).toFixed(2),
      cap: SCHEDULE[i],
      direction: down ? 'down' : 'up',
      sfu_decided_s: decision ? +(decision.t - changeAt(i)).toFixed(2) : null,
      // The 1 s window starts here: the viewer's figure is reached within it.
      [down ? 'fits_s' : 'top_s']: hit ? +(hit.t - 0.25 - changeAt(i)).toFixed(2) : null,
    });
  }
  const use = SCHEDULE.map((cap, i) => {
    const settled = samples.filter((s) => s.step === i && s.t >= changeAt(i) + STEP_S / 3);
    const kbps = settled.reduce((a, s) => a + s.kbps, 0) / Math.max(1, settled.length);
    return { cap_mbps: cap, received_mbps: +(kbps / 1000).toFixed(3), use: +(kbps / 1000 / cap).toFixed(2), layer: settled.at(-1)?.layer };
  });
  const last = samples.at(-1);
  const first = samples[0];
  const summary = {
    schedule_mbps: SCHEDULE,
    adapt,
    use,
    weak_freezes: { count: last.freezeCount - first.freezeCount, secs: +(last.freezeSecs - first.freezeSecs).toFixed(2) },
    // When the weak viewer's freezes ended (sample time) and how long each window's were.
    weak_freezes_at: samples.flatMap((x, j) => (j > 0 && x.freezeSecs > samples[j - 1].freezeSecs ? [{ t: +x.t.toFixed(2), ms: Math.round((x.freezeSecs - samples[j - 1].freezeSecs) * 1000) }] : [])),
    mode: opt.mode,
    good_viewer: P2P ? null : { min_width: goodMin, fps: +goodFps.toFixed(1), freezes: good1.freezeCount - good0.freezeCount },
    reference_fps: +goodFps.toFixed(1),
    streamer_top_layer_mbps: +(((top1.b - top0.b) * 8) / ((top1.t - top0.t) / 1000) / 1e6).toFixed(3),
  };
  console.log(JSON.stringify(summary, null, 1));
  writeFileSync(join(opt.out, 'adapt.json'), JSON.stringify({ summary, samples, estimates, decisions }, null, 1));

  // Plot: capacity, estimate and received bitrate (kbit/s), layer on the right axis.
  const dat = (name, rows) => {
    const p = join(opt.out, name);
    writeFileSync(p, rows.map((r) => r.join(' ')).join('\n') + '\n');
    return p;
  };
  const cap = dat('cap.dat', SCHEDULE.flatMap((c, i) => [[i * STEP_S, c * 1000], [(i + 1) * STEP_S, c * 1000]]));
  const est = dat('est.dat', estimates.map((e) => [e.t, e.kbps]));
  const rx = dat('rx.dat', samples.map((s) => [s.t, s.kbps.toFixed(1)]));
  const lay = dat('layer.dat', samples.map((s) => [s.t, s.layer]));
  const fps = dat('fps.dat', samples.map((s) => [s.t, (s.fps / 10).toFixed(2)]));
  const png = opt.png ?? join(opt.out, 'adapt.png');
  const script = `set terminal pngcairo size 900,500
set output '${png}'
set title '${P2P ? 'Chromium P2P (reference)' : 'hype SFU'}: weak viewer on a changing link (capacity ${SCHEDULE.join(' -> ')} Mbit/s, ${opt.content} content)'
set xlabel 'time (s)'
set ylabel 'kbit/s'
set y2label 'layer (0 = 360p, 2 = 1080p); frame rate / 10'
set y2range [-0.5:3.5]
set y2tics 0,1,3
set ytics nomirror
set yrange [0:*]
set grid
set key top right
plot '${cap}' using 1:2 with lines lw 2 title 'capacity', '${est}' using 1:2 with lines lw 2 title '${P2P ? 'streamer estimate' : 'SFU estimate'}', '${rx}' using 1:2 with lines title 'received', '${lay}' using 1:2 axes x1y2 with steps lw 2 title 'layer', '${fps}' using 1:2 axes x1y2 with lines dt 2 title 'fps / 10'
`;
  try {
    execFileSync('gnuplot', [], { input: script });
    console.log(`plot: ${png}`);
  } catch (e) {
    console.error(`adapt: gnuplot failed: ${e.message}`);
  }
} finally {
  await rootBrowser?.close().catch(() => {});
  await lab.destroyAll();
  await server?.stop();
}
