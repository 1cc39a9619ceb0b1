// Adaptive screen share on a changing link (issue 15), the full version of
// tests/e2e/simulcast_adapt.test.mjs: an RFC 8867-style capacity schedule (x1.0, x2.5, x0.6,
// x1.0 of a base capacity) on a weak viewer's downlink (a netns-lab namespace, tbf), while a
// streamer and a good viewer sit in the root namespace. Samples the weak viewer every 250 ms
// (received bitrate, frame width = layer, freezes) and reads the SFU's estimate for it from the
// server's trace log; prints time to adapt down and up, freezes, the link use per step and the
// good viewer's and streamer's change, writes the series as JSON and plots it (gnuplot).
//
//   HYPE_BIN=build/release/src/app/hype node bench/video/adapt.mjs \
//     [--base 0.8] [--step 15] [--out /tmp/hype-adapt] [--png docs/benchmarks/adapt.png]
//
// --base is in Mbit/s: Chromium's fake 1080p screen codes its three layers in about 0.2, 0.7
// and 1.1 Mbit/s, so a base of 0.8 puts the x0.6 step below the middle layer and the x2.5 one
// above the top. Needs root (ip netns, tc).
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
  },
});
if (netnsSkip) {
  console.error(`adapt: ${netnsSkip}`);
  process.exit(2);
}
const BASE = Number(opt.base);
const STEP_S = Number(opt.step);
const SCHEDULE = [1.0, 2.5, 0.6, 1.0].map((f) => +(BASE * f).toFixed(3));
mkdirSync(opt.out, { recursive: true });
console.log(`command: node bench/video/adapt.mjs --base ${BASE} --step ${STEP_S}`);
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
      out = { width: s.frameWidth ?? 0, frames: s.framesDecoded ?? 0, freezeCount: s.freezeCount ?? 0, freezeSecs: s.totalFreezesDuration ?? 0 };
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
  rootBrowser = await launch({ args: [`--unsafely-treat-insecure-origin-as-secure=${server.url}`] });
  const weakBrowser = await ns.launchChromium({ origins: [server.url] });
  const names = { a: uniqueName('streamer'), b: uniqueName('weak'), c: uniqueName('good') };
  const auth = {};
  for (const [k, n] of Object.entries(names)) auth[k] = await registerApi(n);
  const guild = await api('POST', '/guilds', { name: 'Adapt' }, auth.a.access_token);
  const invite = (await api('POST', `/guilds/${guild.id}/invites`, {}, auth.a.access_token)).code;
  for (const k of ['b', 'c']) await api('POST', `/invites/${invite}`, undefined, auth[k].access_token);
  const u = {};
  for (const [k, browser] of [['a', rootBrowser], ['c', rootBrowser], ['b', weakBrowser]]) {
    u[k] = await openUser(browser);
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
  await sleep(3000);

  // The schedule, sampled every 250 ms.
  const samples = [];
  const t0 = Date.now();
  const good0 = await inbound(u.c.page, u.a.id);
  const top0 = await topLayerBytes(u.a.page);
  let goodMin = good0.width;
  let prev = await inbound(u.b.page, u.a.id);
  for (let i = 0; i < SCHEDULE.length; i++) {
    ns.set({ down: `${SCHEDULE[i]}mbit` });
    const stepEnd = t0 + (i + 1) * STEP_S * 1000;
    while (Date.now() < stepEnd) {
      await sleep(250);
      const s = await inbound(u.b.page, u.a.id);
      const g = await inbound(u.c.page, u.a.id);
      if (g) goodMin = Math.min(goodMin, g.width);
      if (!s) continue;
      const dt = (s.t - prev.t) / 1000;
      samples.push({ t: (Date.now() - t0) / 1000, step: i, cap: SCHEDULE[i], kbps: dt > 0 ? ((s.transport - prev.transport) * 8) / dt / 1000 : 0, width: s.width, layer: LAYER_OF_WIDTH[s.width] ?? -1, freezeCount: s.freezeCount, freezeSecs: s.freezeSecs });
      prev = s;
    }
  }
  const good1 = await inbound(u.c.page, u.a.id);
  const top1 = await topLayerBytes(u.a.page);

  writeFileSync(join(opt.out, 'server.log'), server.log());
  // The SFU's estimate for the weak viewer's stream connection (user id with bit 63 set).
  const weakPid = (BigInt(u.b.id) | (1n << 63n)).toString();
  const startIso = new Date(t0).toISOString().slice(0, 23);
  const estimates = [];
  for (const line of server.log().split('\n')) {
    const m = line.match(/^(\S+) trace sfu: room \d+ viewer (\d+) estimate (\d+) bps/);
    if (!m || m[2] !== weakPid) continue;
    const t = (Date.parse(`${m[1]}Z`) - Date.parse(`${startIso}Z`)) / 1000;
    if (t >= 0 && t <= SCHEDULE.length * STEP_S) estimates.push({ t, kbps: Number(m[3]) / 1000 });
  }

  // Figures: adaptation after each change, freezes, link use in the settled part of each step.
  const changeAt = (i) => i * STEP_S;
  const firstAfter = (i, pred) => samples.find((s) => s.t >= changeAt(i) && s.step === i && pred(s));
  const layerBefore = (i) => samples.filter((s) => s.step === i - 1).at(-1)?.layer ?? 2;
  const adapt = [];
  for (let i = 1; i < SCHEDULE.length; i++) {
    const before = layerBefore(i);
    const down = SCHEDULE[i] < SCHEDULE[i - 1];
    const hit = firstAfter(i, (s) => (down ? s.layer < before : s.layer > before));
    adapt.push({ at_s: changeAt(i), cap: SCHEDULE[i], from_layer: before, direction: down ? 'down' : 'up', after_s: hit ? +(hit.t - changeAt(i)).toFixed(2) : null, to_layer: hit?.layer ?? null });
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
    good_viewer: { min_width: goodMin, fps: +((good1.frames - good0.frames) / ((good1.t - good0.t) / 1000)).toFixed(1), freezes: good1.freezeCount - good0.freezeCount },
    streamer_top_layer_mbps: +(((top1.b - top0.b) * 8) / ((top1.t - top0.t) / 1000) / 1e6).toFixed(3),
  };
  console.log(JSON.stringify(summary, null, 1));
  writeFileSync(join(opt.out, 'adapt.json'), JSON.stringify({ summary, samples, estimates }, null, 1));

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
  const png = opt.png ?? join(opt.out, 'adapt.png');
  const script = `set terminal pngcairo size 900,500
set output '${png}'
set title 'Weak viewer on a changing link (capacity x1.0 x2.5 x0.6 x1.0 of ${BASE} Mbit/s)'
set xlabel 'time (s)'
set ylabel 'kbit/s'
set y2label 'layer (0 = 360p, 2 = 1080p)'
set y2range [-0.5:2.5]
set y2tics 0,1,2
set ytics nomirror
set yrange [0:*]
set grid
set key top right
plot '${cap}' using 1:2 with lines lw 2 title 'capacity', '${est}' using 1:2 with lines lw 2 title 'SFU estimate', '${rx}' using 1:2 with lines title 'received', '${lay}' using 1:2 axes x1y2 with steps lw 2 title 'layer'
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
