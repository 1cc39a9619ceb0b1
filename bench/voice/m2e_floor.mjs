// What the mouth-to-ear floor (~100 ms on a clean loopback, docs/benchmarks.md) is made of,
// measured in one Chromium page with the mouth-to-ear harness's generator, detector and clock
// (tests/e2e/lib/m2e_page.mjs): no server, no network, one AudioContext clock per stage.
//
//   node bench/voice/m2e_floor.mjs [--duration 10] [--stages hop,graph,pc,pc-graph,...] [--repeat 3] [--json FILE]
//
// Stages (each in a fresh browser context, markers every 400 ms). Within one stage the delay is
// nearly constant; from one fresh context to the next it moves by up to ~10 ms per
// MediaStream hop with the phase between the render callbacks (and the jitter buffer's level
// with the phase of packet arrival against the 10 ms playout pulls), so every stage runs
// --repeat times, round-robin, and the summary gives the median and range of the rounds' p50s.
//   hop          generator -> MediaStreamDestination -> MediaStreamSource -> detector
//                (the harness's own path: one MediaStream <-> WebAudio round trip)
//   graph        the same with the client's microphone graph in between (a second
//                AudioContext, latencyHint 'interactive': source -> gain + analyser -> destination,
//                as web/src/rtc/localAudio.ts), then the hop into the detector
//   pc           generator track -> RTCPeerConnection -> RTCPeerConnection (same page, loopback
//                UDP) -> remote track (played by an <audio> element, as the client does) -> detector
//   pc-graph     the client's graph, then the two connections (the product's sending path)
//   pc-jbt0      pc with RTCRtpReceiver.jitterBufferTarget = 0
//   pc-ptime10   pc with a=ptime:10 in the sender's remote description (10 ms Opus packets)
//   pc-ptime10-jbt0
//   graph-lh0, pc-graph-lh0   the client's graph with AudioContext latencyHint 0
//   graph-playback, pc-graph-playback   ... with latencyHint 'playback'
//   graph-sr48, pc-graph-sr48   ... with the graph's AudioContext at 48 kHz (by default it takes
//                the output device's rate: 44.1 kHz with Chromium's fake device here)
// Prints the command, the machine and a table: marker delay p50/p95/max, and for the
// connections the receiver's jitter buffer from getStats (average delay, target, minimum per
// emitted sample), packets per second sent, concealed %.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launch } from '../../tests/e2e/lib/browser.mjs';
import { matchDirection, loopHopMs, percentile } from '../../tests/e2e/lib/mouth_to_ear.mjs';
import { installMouthToEar } from '../../tests/e2e/lib/m2e_page.mjs';

const ALL = ['hop', 'graph', 'pc', 'pc-graph', 'pc-jbt0', 'pc-ptime10', 'pc-ptime10-jbt0', 'graph-lh0', 'pc-graph-lh0', 'graph-playback', 'pc-graph-playback', 'graph-sr48', 'pc-graph-sr48'];
const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    stages: { type: 'string', default: ALL.join(',') },
    repeat: { type: 'string', default: '3' },
    json: { type: 'string', default: '' },
  },
});
const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
};
const model = sh('lscpu', []).match(/Model name:\s*(.*)/)?.[1]?.trim() ?? cpus()[0].model;
console.log(`command: node bench/voice/m2e_floor.mjs ${process.argv.slice(2).join(' ')}`.trim());
console.log(`machine: ${cpus().length} cores, ${model}, kernel ${sh('uname', ['-r'])}, ${sh(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--version']).replace(/\s+built.*/, '')}`);
console.log(
  `git: ${sh('git', ['rev-parse', '--short', 'HEAD'])}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load at start ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

function parseStage(name) {
  const s = { name, pc: name.startsWith('pc'), graph: /(^|-)graph/.test(name), jbt: null, ptime: null, latencyHint: 'interactive', sampleRate: undefined };
  if (/sr48/.test(name)) s.sampleRate = 48000;
  if (/jbt0/.test(name)) s.jbt = 0;
  const p = /ptime(\d+)/.exec(name);
  if (p) s.ptime = Number(p[1]);
  if (/lh0/.test(name)) s.latencyHint = 0;
  if (/playback/.test(name)) s.latencyHint = 'playback';
  if (!ALL.includes(name)) throw new Error(`unknown stage ${name}`);
  return s;
}

// A blank page on 127.0.0.1 (a secure context, for AudioWorklet).
const http = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>m2e floor</title>'));
await new Promise((r) => http.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${http.address().port}/`;

async function runStage(browser, st, durationS, warmupS) {
  const context = await browser.newContext();
  try {
    await context.addInitScript(installMouthToEar, { periodMs: 400, jitterBufferTarget: st.jbt, ptime: st.ptime });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('[pageerror]', e.message));
    await page.goto(url);
    await page.evaluate(async (st) => {
      const M = window.__m2e;
      await M.ready;
      let track = M.dest.stream.getAudioTracks()[0];
      if (st.graph) {
        // As web/src/rtc/localAudio.ts: its own context, source -> gain -> analyser + destination.
        const c2 = new AudioContext({ latencyHint: st.latencyHint, ...(st.sampleRate ? { sampleRate: st.sampleRate } : {}) });
        const src = c2.createMediaStreamSource(new MediaStream([track]));
        const gain = c2.createGain();
        const an = c2.createAnalyser();
        an.fftSize = 8192;
        const d2 = c2.createMediaStreamDestination();
        src.connect(gain);
        gain.connect(an);
        gain.connect(d2);
        if (c2.state !== 'running') await c2.resume();
        M.keep = { c2, src, gain, an, d2 };
        M.graphLatency = { baseLatency: c2.baseLatency, outputLatency: c2.outputLatency, sampleRate: c2.sampleRate };
        track = d2.stream.getAudioTracks()[0];
      }
      if (!st.pc) {
        await M.listen(track, 'remote');
        return;
      }
      // The wrapped RTCPeerConnection (m2e_page.mjs) taps the remote track into the detector,
      // sets jitterBufferTarget and adds a=ptime to remote descriptions.
      const a = new RTCPeerConnection();
      const b = new RTCPeerConnection();
      a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
      b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
      b.addEventListener('track', (e) => {
        const el = document.createElement('audio');
        el.autoplay = true;
        el.srcObject = e.streams[0] ?? new MediaStream([e.track]);
        document.body.append(el);
        void el.play().catch(() => {});
      });
      a.addTrack(track, new MediaStream([track]));
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(a.localDescription);
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(b.localDescription);
      M.loopPcs = [a, b];
    }, st);
    await page.waitForFunction(() => window.__m2e.remote.length >= 2, null, { timeout: 20_000 });
    await page.waitForTimeout(warmupS * 1000);
    const wall = () => page.evaluate(() => performance.timeOrigin + performance.now());
    const stats = () => page.evaluate(() => window.__m2e.rtpStats());
    const before = await stats();
    const from = await wall();
    await page.waitForTimeout(durationS * 1000);
    const to = await wall();
    const after = await stats();
    await page.waitForTimeout(1000);
    const dump = await page.evaluate(() => ({ ...window.__m2e.dump(), graphLatency: window.__m2e.graphLatency, sdp: window.__m2e.loopPcs?.[0].currentRemoteDescription.sdp }));
    // Markers repeat their id every 1.6 s: nothing here is late by more than 600 ms.
    const m = matchDirection(dump, dump, { from, to, maxDelayMs: 600 });
    const d = m.delays.sort((x, y) => x - y);
    const row = { stage: st.name, markers: `${d.length}/${m.emitted}`, p50: percentile(d, 50), p95: percentile(d, 95), max: d[d.length - 1], min: d[0], spurious: m.spurious, hop: loopHopMs(dump), graphLatency: dump.graphLatency, ctx: { baseLatency: dump.baseLatency, outputLatency: dump.outputLatency } };
    if (st.pc) {
      const i0 = before.inbound[0];
      const i1 = after.inbound[0];
      const dd = (k) => (i1?.[k] ?? 0) - (i0?.[k] ?? 0);
      const n = dd('jitterBufferEmittedCount');
      row.jbMs = n ? (1000 * dd('jitterBufferDelay')) / n : null;
      row.jbTargetMs = n ? (1000 * dd('jitterBufferTargetDelay')) / n : null;
      row.jbMinMs = n && i1?.jitterBufferMinimumDelay !== undefined ? (1000 * dd('jitterBufferMinimumDelay')) / n : null;
      row.concealedPct = dd('totalSamplesReceived') ? (100 * dd('concealedSamples')) / dd('totalSamplesReceived') : null;
      const o0 = before.outbound[0];
      const o1 = after.outbound[0];
      row.pktPerS = o1 && o0 ? (o1.packetsSent - o0.packetsSent) / ((o1.timestamp - o0.timestamp) / 1000) : null;
      row.receiverJitterBufferTarget = i1?.receiverJitterBufferTarget;
      row.ptimeInSdp = /a=ptime:(\d+)/.exec(dump.sdp ?? '')?.[1] ?? null;
    }
    row.errors = dump.errors;
    return row;
  } finally {
    await context.close();
  }
}

const stages = opt.stages.split(',').filter(Boolean).map(parseStage);
const rows = [];
const browser = await launch();
try {
  for (let r = 0; r < Number(opt.repeat); r++)
    for (const st of stages) {
      const row = await runStage(browser, st, Number(opt.duration), Number(opt.warmup));
      row.round = r + 1;
      rows.push(row);
      console.error(JSON.stringify(row));
    }
} finally {
  await browser.close();
  http.close();
}
const f = (x, n = 1) => (Number.isFinite(x) ? x.toFixed(n) : '-');
console.log('| stage | round | markers | p50 ms | p95 ms | max ms | jitter buffer ms (avg / target / minimum) | packets/s sent | concealed % |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.stage} | ${r.round} | ${r.markers} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.max)} | ${r.jbMs === undefined ? '-' : `${f(r.jbMs)} / ${f(r.jbTargetMs)} / ${f(r.jbMinMs)}`} | ${f(r.pktPerS, 0)} | ${r.concealedPct === undefined ? '-' : f(r.concealedPct, 2)} |`);
// Per stage: the rounds' p50s (median, range) and jitter buffer averages.
const med = (a) => percentile([...a].sort((x, y) => x - y), 50);
console.log('');
console.log('| stage | rounds | p50 ms, median of rounds (range) | jitter buffer avg ms, median of rounds | target ms | packets/s |');
console.log('|---|---|---|---|---|---|');
for (const st of stages) {
  const rs = rows.filter((r) => r.stage === st.name && Number.isFinite(r.p50));
  if (!rs.length) continue;
  const p = rs.map((r) => r.p50);
  const jb = rs.map((r) => r.jbMs).filter(Number.isFinite);
  const tg = rs.map((r) => r.jbTargetMs).filter(Number.isFinite);
  const pk = rs.map((r) => r.pktPerS).filter(Number.isFinite);
  console.log(`| ${st.name} | ${rs.length} | ${f(med(p))} (${f(Math.min(...p))}-${f(Math.max(...p))}) | ${jb.length ? f(med(jb)) : '-'} | ${tg.length ? f(med(tg)) : '-'} | ${pk.length ? f(med(pk), 0) : '-'} |`);
}
if (opt.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(opt.json, JSON.stringify(rows, null, 1) + '\n');
}
