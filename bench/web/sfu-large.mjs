// A large voice channel with real browsers: 2 Chromium participants (each its own browser
// process tree, fake microphone, muted so the speakers are the bots) plus hype-bots in one
// channel of a `hype serve` with voice.mode = auto, so the channel starts P2P and moves to the
// SFU as the bots arrive. Measures, per browser, whole-browser CPU and memory in the steady
// state, what it hears (streams with packets growing), and join time (click on "Join voice"
// to the first remote audio packet, getStats) in P2P (a 2-person call) and in the big SFU
// channel; the bots report their own loss, latency and join time.
//
//   HYPE_BIN=build/release/src/app/hype node bench/web/sfu-large.mjs [--bots 58] [--speakers 3]
//        [--seconds 20] [--joins 10]
//
// Needs web/dist built, tests/e2e/node_modules (npm ci in tests/e2e) and hype-bot beside hype.
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '../../tests/e2e/node_modules/playwright-core/index.mjs';
import { CHROMIUM_ARGS, api, loginUi, registerApi, setBase, sleep, until } from '../../tests/e2e/lib/browser.mjs';
import { startHype } from '../../tests/e2e/lib/server.mjs';
import { HZ, cpuTicks, memory, tree } from './procstat.mjs';

const { values: opt } = parseArgs({
  options: {
    bots: { type: 'string', default: '58' },
    speakers: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '20' },
    joins: { type: 'string', default: '10' },
  },
});
const BOTS = Number(opt.bots);
const SPEAKERS = Number(opt.speakers);
const SECONDS = Number(opt.seconds);
const JOINS = Number(opt.joins);
const HYPE_BIN = process.env.HYPE_BIN ?? 'build/release/src/app/hype';
const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');

const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))] : NaN;
};

/** Clicks "Join voice" and returns ms until the first inbound audio packet of any remote user. */
function timedJoin(page) {
  return page.evaluate(async () => {
    const rtc = window.__hype.rtcService;
    const button = document.querySelector('button[aria-label="Join voice"]');
    if (!button) throw new Error('no Join voice button');
    const t0 = performance.now();
    button.click();
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      if (rtc.getSnapshot().status !== 'connected') continue;
      const { inbound } = await rtc.playedInbound();
      if (Object.values(inbound).some((a) => a.packetsReceived > 0)) {
        const ms = performance.now() - t0;
        const tl = rtc.currentTransport?.timeline;
        const steps = tl ? Object.fromEntries(Object.entries(tl).map(([k, v]) => [k, Math.round(v - t0)])) : {};
        return { ms, steps };
      }
      if (performance.now() - t0 > 30_000) throw new Error('no audio within 30 s');
    }
  });
}

async function leave(page) {
  await page.getByRole('button', { name: 'Leave voice' }).click();
  await page.getByRole('button', { name: 'Join voice' }).waitFor();
}

/** Users whose audio this page receives now (packets growing over one second). */
async function hearing(page) {
  const a = await page.evaluate(() => window.__hype.rtcService.playedInbound());
  await sleep(1000);
  const b = await page.evaluate(() => window.__hype.rtcService.playedInbound());
  return { mode: b.mode, users: Object.keys(b.inbound).filter((u) => b.inbound[u].packetsReceived > (a.inbound[u]?.packetsReceived ?? 0)) };
}

const sfuPort = 47000 + Math.floor(Math.random() * 2000);
const hype = await startHype({ own: true, bin: HYPE_BIN, env: { HYPE_VOICE_MODE: 'auto', HYPE_SFU_PORT: String(sfuPort) } });
setBase(hype.url);
const browsers = [];
let bots = null;
const out = { command: `node bench/web/sfu-large.mjs --bots ${BOTS} --speakers ${SPEAKERS} --seconds ${SECONDS} --joins ${JOINS}`, machine: `${cpus().length} cores (${cpus()[0].model})` };
try {
  const stamp = Date.now().toString(36).slice(-5);
  const names = [`large_a_${stamp}`, `large_b_${stamp}`];
  const auth = [];
  for (const n of names) auth.push(await registerApi(n));
  const g = await api('POST', '/guilds', { name: 'Large channel' }, auth[0].access_token);
  const full = await api('GET', `/guilds/${g.id}`, undefined, auth[0].access_token);
  const channelId = full.channels.find((c) => c.kind === 'voice').id;
  const invite = (await api('POST', `/guilds/${g.id}/invites`, {}, auth[0].access_token)).code;
  await api('POST', `/invites/${invite}`, undefined, auth[1].access_token);
  for (const [i, n] of names.entries()) {
    const server = await chromium.launchServer({ executablePath: '/usr/bin/chromium', headless: false, args: CHROMIUM_ARGS });
    const browser = await chromium.connect(server.wsEndpoint());
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, baseURL: hype.url });
    const page = await context.newPage();
    await page.goto('/');
    await loginUi(page, n);
    browsers.push({ server, browser, page, pid: server.process().pid, id: auth[i].user.id });
  }
  const [A, B] = browsers;

  // ---- P2P join time: B joins a 2-person call where A talks ----
  await A.page.getByRole('button', { name: 'Join voice' }).click();
  await A.page.getByRole('button', { name: 'Leave voice' }).waitFor();
  const p2pJoins = [];
  for (let i = 0; i < JOINS; i++) {
    p2pJoins.push((await timedJoin(B.page)).ms);
    await sleep(500);
    await leave(B.page);
    await sleep(300);
  }
  out.browserJoinP2P = { n: p2pJoins.length, p50: pct(p2pJoins, 0.5), p99: pct(p2pJoins, 0.99), max: Math.max(...p2pJoins) };
  console.error('p2p joins (ms):', p2pJoins.map((x) => x.toFixed(0)).join(' '));

  // ---- the big channel: both browsers muted listeners, the bots join ----
  for (const b of browsers) await b.page.evaluate(() => window.__hype.rtcService.setMute(true));
  await B.page.getByRole('button', { name: 'Join voice' }).click();
  await B.page.getByRole('button', { name: 'Leave voice' }).waitFor();
  const botSeconds = SECONDS + JOINS * 6 + 40;
  const botStart = Date.now();
  bots = new Promise((resolve) => {
    execFile(BOT_BIN, ['--server', hype.url, '--json', '--count', String(BOTS), '--speakers', String(SPEAKERS), '--duration', String(botSeconds), '--channel', channelId, '--invite', invite], { timeout: (botSeconds + 120) * 1000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch {
        resolve({ error: `${err?.message ?? ''} ${stderr.slice(-2000)}` });
      }
    });
  });
  await until(async () => (await api('GET', `/voice/states/${channelId}`, undefined, auth[0].access_token)).length === BOTS + 2, { timeout: 180_000, interval: 1000, what: `${BOTS + 2} participants` });
  out.botsJoinedAfterS = (Date.now() - botStart) / 1000;
  for (const b of browsers) {
    await until(async () => {
      const h = await hearing(b.page);
      return h.mode === 'sfu' && h.users.length >= Math.min(SPEAKERS, 2) && h;
    }, { timeout: 60_000, interval: 500, what: 'browser on the SFU hearing the speakers' });
  }
  await sleep(5000);
  const pidsets = browsers.map((b) => tree(b.pid));
  const c0 = pidsets.map(cpuTicks);
  const t0 = process.hrtime.bigint();
  const load0 = loadavg()[0];
  await sleep(SECONDS * 1000);
  const c1 = pidsets.map(cpuTicks);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  out.load = `${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`;
  out.browsers = [];
  for (const [i, b] of browsers.entries()) {
    const mem = memory(tree(b.pid));
    const h = await hearing(b.page);
    const streams = await b.page.evaluate(() => window.__hype.rtcService.currentTransport.pc.getTransceivers().filter((t) => t.receiver.track?.kind === 'audio' && t.currentDirection !== 'inactive').length);
    out.browsers.push({ cpuPct: ((c1[i] - c0[i]) / HZ / dt) * 100, pssMiB: mem.pssMiB, rssMiB: mem.rssMiB, processes: pidsets[i].length, mode: h.mode, hearing: h.users.length, receiveSections: streams });
  }

  // ---- SFU join time: B leaves and joins the big channel again ----
  const sfuJoins = [];
  const steps = {};
  for (let i = 0; i < JOINS; i++) {
    await leave(B.page);
    await sleep(1000);
    const r = await timedJoin(B.page);
    sfuJoins.push(r.ms);
    for (const [k, v] of Object.entries(r.steps)) (steps[k] ??= []).push(v);
    await sleep(1000);
  }
  // Median time from the click to each step of the SFU join (SfuTransport.timeline).
  out.browserJoinSFUSteps = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, pct(v, 0.5)]).sort((a, b) => a[1] - b[1]));
  out.browserJoinSFU = { n: sfuJoins.length, p50: pct(sfuJoins, 0.5), p99: pct(sfuJoins, 0.99), max: Math.max(...sfuJoins) };
  console.error('sfu joins (ms):', sfuJoins.map((x) => x.toFixed(0)).join(' '));
  for (const b of browsers) await b.page.getByRole('button', { name: 'Leave voice' }).click().catch(() => {});
  const r = await bots;
  bots = null;
  out.bots = r.error
    ? { error: r.error }
    : Object.fromEntries(Object.entries(r).filter(([k]) => !['bot_user_ids', 'packets_received_by_sender', 'bots_hearing_sender'].includes(k)));
} finally {
  for (const b of browsers) {
    await b.browser.close().catch(() => {});
    await b.server.close().catch(() => {});
  }
  if (bots) await bots;
  await hype.stop();
}
console.log(JSON.stringify(out, null, 1));
console.log(`\n${out.command}\n${out.machine}; load ${out.load}; window ${SECONDS} s; CPU in % of one core\n`);
console.log('| browser | mode | CPU % | PSS MiB | RSS MiB | processes | receive sections | hearing |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [i, b] of out.browsers.entries()) {
  console.log(`| ${i ? 'B' : 'A'} | ${b.mode} | ${b.cpuPct.toFixed(1)} | ${b.pssMiB.toFixed(0)} | ${b.rssMiB.toFixed(0)} | ${b.processes} | ${b.receiveSections} | ${b.hearing} |`);
}
const j = (x) => `p50 ${x.p50.toFixed(0)} ms, p99 ${x.p99.toFixed(0)} ms (n=${x.n}, max ${x.max.toFixed(0)})`;
console.log(`\nbrowser join (click to first remote audio packet): P2P 2-person call ${j(out.browserJoinP2P)}; SFU ${BOTS + 2}-person channel ${j(out.browserJoinSFU)}`);
console.log(`SFU join steps (median ms after the click): ${Object.entries(out.browserJoinSFUSteps).map(([k, v]) => `${k} ${v}`).join(', ')}`);
if (out.bots && !out.bots.error) console.log(`bots: join p50 ${out.bots.join_ms_p50} ms, p99 ${out.bots.join_ms_p99} ms; loss ${out.bots.loss_pct}%; latency p50 ${out.bots.latency_ms_p50} ms, p99 ${out.bots.latency_ms_p99} ms`);
