// Mouth-to-ear in real Chromium (issue 19 item 2), shared by tests/e2e/mouth_to_ear.test.mjs
// and bench/voice/mouth_to_ear.mjs. One case = one fresh `hype serve` (P2P or SFU), one
// hype-netlab relay with a profile, two users in two pages of one Chromium, both talking
// (a marker train, lib/m2e_page.mjs) and both listening. Each direction crosses the relay
// once (legs: 1) or twice (legs: 2):
//
//   SFU, legs 1:  A <-> netlab <-> SFU <-> B      (B's candidates rewritten to the SFU's port)
//   SFU, legs 2:  A <-> netlab <-> SFU <-> netlab <-> B   (the SFU announces the relay)
//   P2P, legs 1:  A <-> netlab <-> coturn <-> B   (both relay-only; A's TURN URL -> relay)
//   P2P, legs 2:  A <-> netlab <-> coturn <-> netlab <-> B
//
// With legs 1, A -> B takes the relay's "up" link and B -> A its "down" link: the profile
// applies once per direction, as the issue's one-way figures mean.
// See docs/design/mouth_to_ear.md for what the figure includes.
import { api, describePages, launch, loginUi, myId, registerApi, setBase, sleep, trackPage, uniqueName, until, BASE } from './browser.mjs';
import { startHype } from './server.mjs';
import { freeUdpPort, startRelay } from './netlab.mjs';
import { installMouthToEar } from './m2e_page.mjs';

export { launch };

/**
 * Client-side latency levers the page hook (m2e_page.mjs) applies in both pages, by name;
 * combine with '+' (e.g. 'ptime10+jbt0'):
 *   base     nothing changed
 *   jbt0     RTCRtpReceiver.jitterBufferTarget = 0 on every audio receiver
 *   ptime10  a=ptime:10 in every remote description (10 ms Opus packets both ways)
 *   ptime20  a=ptime:20 in every remote description: 20 ms packets, as before the client and
 *            the SFU asked for 10 ms (2026-12-07)
 *   sr48     the client's AudioContexts (its microphone graph) at 48 kHz
 *   lh0      the client's AudioContexts with latencyHint 0
 *   direct   the "microphone" track sent as it is, not the client's graph output (m2e_page.mjs)
 *   vol99    the client's input volume at 99 %: its graph output is sent, not the microphone
 *            track (web/src/rtc/localAudio.ts sends the microphone's own track at 100 %)
 *   redoff   the pages' codec preferences without RED (as --red off, but the case keeps the
 *   redon    ... RED first (as --red on)        netlab seed of --red default: same network)
 *            Page side only: the SFU's sfu.audio_red stays as it is (use --red for the SFU).
 */
export const LEVERS = {
  base: {},
  jbt0: { jitterBufferTarget: 0 },
  ptime10: { ptime: 10 },
  ptime20: { ptime: 20 },
  sr48: { audioContext: { sampleRate: 48000 } },
  lh0: { audioContext: { latencyHint: 0 } },
  direct: { directMic: true },
  vol99: { settings: { inputVolume: 99 } },
  redoff: { red: 'off' },
  redon: { red: 'on' },
};
export function leverOptions(name) {
  const out = {};
  for (const part of name.split('+')) {
    const l = LEVERS[part];
    if (!l) throw new Error(`unknown lever ${part} (${Object.keys(LEVERS).join(', ')})`);
    for (const [k, v] of Object.entries(l)) out[k] = typeof v === 'object' && v ? { ...out[k], ...v } : v;
  }
  return out;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Maps a context frame to the wall time (ms) at which it was rendered: the lowest
 * (wall - frame / rate) among clock reports within +-windowS of it (message delays only add).
 */
export function clockMap(clk, sampleRate, windowS = 3) {
  const frames = clk.map((c) => c[0]);
  const offs = clk.map(([f, w]) => w - (f * 1000) / sampleRate);
  const span = windowS * sampleRate;
  const lower = (f) => {
    let lo = 0;
    let hi = frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (frames[mid] < f) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return (frame) => {
    let best = Infinity;
    for (let i = lower(frame - span); i < frames.length && frames[i] <= frame + span; i++) if (offs[i] < best) best = offs[i];
    return (frame * 1000) / sampleRate + best;
  };
}

/**
 * Matches one direction: the sender's emissions (its local detector, falling back to the
 * generator's frame) against the receiver's remote onsets of the same marker id, the first
 * unused one within [-5, maxDelayMs] ms. Only emissions in [from, to] count.
 */
export function matchDirection(tx, rx, { from, to, maxDelayMs = 1500 }) {
  const txMap = clockMap(tx.clk, tx.sampleRate);
  const rxMap = clockMap(rx.clk, rx.sampleRate);
  const local = tx.local.map((l) => ({ ...l, wall: txMap(l.frame) }));
  const biases = [];
  const emissions = tx.emits.map((e) => {
    const wallGen = txMap(e.frame);
    const l = local.find((x) => x.id === e.id && Math.abs(x.wall - wallGen) < 20);
    if (l) biases.push(l.wall - wallGen);
    return { k: e.k, id: e.id, wall: l ? l.wall : wallGen };
  });
  const recv = rx.remote.map((r) => ({ ...r, wall: rxMap(r.frame), used: false })).sort((a, b) => a.wall - b.wall);
  const delays = [];
  let counted = 0;
  // Every emission takes its reception (so that markers sent just outside the window do not
  // look spurious); only those inside it count.
  for (const e of emissions) {
    const r = recv.find((x) => !x.used && x.id === e.id && x.wall - e.wall >= -5 && x.wall - e.wall <= maxDelayMs);
    if (r) r.used = true;
    if (e.wall < from || e.wall > to) continue;
    counted++;
    if (r) delays.push(r.wall - e.wall);
  }
  return {
    emitted: counted,
    detected: delays.length,
    delays,
    spurious: recv.filter((r) => !r.used && r.wall >= from && r.wall <= to).length,
    detectorBiasMs: biases.length ? biases.reduce((a, b) => a + b, 0) / biases.length : null,
  };
}

/** Frames from each generated marker's local onset to its onset after one MediaStream hop. */
export function loopHopMs(page) {
  const hops = [];
  for (const l of page.local) {
    const x = page.loop.find((y) => y.id === l.id && y.frame >= l.frame && y.frame - l.frame < page.sampleRate * 0.4);
    if (x) hops.push(((x.frame - l.frame) * 1000) / page.sampleRate);
  }
  hops.sort((a, b) => a - b);
  return hops.length ? { p50: percentile(hops, 50), max: hops[hops.length - 1] } : null;
}

/** The first codec of the sections we send on (chosen by the remote description) and receive on (by ours). */
function codecUse(page) {
  const send = new Set();
  const recv = new Set();
  for (const pc of page.codecOrder) {
    pc.local.forEach((l, i) => {
      if (l.dir === 'sendrecv' || l.dir === 'sendonly') send.add(pc.remote[i]?.name);
      if (l.dir === 'sendrecv' || l.dir === 'recvonly') recv.add(l.name);
    });
  }
  return { send: [...send].join('+'), recv: [...recv].join('+'), offeredRed: page.codecOrder.some((c) => c.offeredRed) };
}

function sumStats(before, after, txPage, rxPage) {
  const sum = (list, k) => list.reduce((a, s) => a + (s[k] ?? 0), 0);
  const d = (k) => sum(after.inbound, k) - sum(before.inbound, k);
  const total = d('totalSamplesReceived');
  const emitted = d('jitterBufferEmittedCount');
  return {
    totalSamples: total,
    concealedSamples: d('concealedSamples'),
    silentConcealedSamples: d('silentConcealedSamples'),
    concealmentEvents: d('concealmentEvents'),
    packetsReceived: d('packetsReceived'),
    packetsLost: d('packetsLost'),
    fecPackets: d('fecPacketsReceived'),
    nacks: d('nackCount'),
    jitterBufferMs: emitted > 0 ? (1000 * d('jitterBufferDelay')) / emitted : null,
    jitterBufferTargetMs: emitted > 0 ? (1000 * d('jitterBufferTargetDelay')) / emitted : null,
    // RED is used on a hop when the sender sends it and, through the SFU, when the receiver takes it.
    sendCodec: codecUse(txPage).send,
    recvCodec: codecUse(rxPage).recv,
    offeredRed: codecUse(txPage).offeredRed,
  };
}

async function openPage(browser, hookOpts, forceRelay) {
  const context = await browser.newContext({ baseURL: BASE });
  await context.addInitScript(installMouthToEar, hookOpts);
  if (forceRelay) await context.addInitScript(() => localStorage.setItem('hype.forceRelay', '1'));
  const page = trackPage(await context.newPage());
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  await page.goto('/');
  return { context, page };
}

/**
 * Runs one case and returns its figures. Options:
 *   browser     a launched Chromium (lib/browser.mjs launch())
 *   mode        'sfu' | 'p2p'
 *   profile     a hype-netlab spec ('clean', 'wifi', 'mobile', 'bursty', or overrides)
 *   red         'default' (what Chromium and the server do) | 'on' | 'off'
 *   legs        1 (the profile once per direction) | 2 (once on each user's link)
 *   durationS   measured time; warmupS before it (the jitter buffer settles)
 *   log         progress lines (e.g. console.error or t.diagnostic)
 *   lever       a name from LEVERS (client-side latency settings applied by the page hook)
 */
export async function runCase({ browser, mode, profile, red = 'default', legs = 1, durationS = 10, warmupS = 3, seed = 1, periodMs = 500, lever = 'base', log = () => {} }) {
  if (!['sfu', 'p2p'].includes(mode)) throw new Error(`mode ${mode}`);
  const cleanup = [];
  const t = { start: Date.now() };
  try {
    const relayPort = await freeUdpPort();
    let upstream;
    let server;
    const hook = [0, 1].map(() => ({ red, periodMs, ...leverOptions(lever) }));
    if (mode === 'sfu') {
      upstream = await freeUdpPort([relayPort]);
      const env = { HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(upstream), HYPE_SFU_ANNOUNCED_PORT: String(relayPort) };
      if (red !== 'default') env.HYPE_SFU_AUDIO_RED = red === 'on' ? 'true' : 'false';
      server = await startHype({ own: true, env });
      if (legs === 1) hook[1].candidatePortRewrite = [relayPort, upstream];
    } else {
      server = await startHype({ own: true, withTurn: true, env: { HYPE_VOICE_MODE: 'p2p' } });
      if (!server.turn) throw new Error('P2P needs coturn (turnserver)');
      upstream = Number(server.turn.split(':').pop());
      const rewrite = [`127.0.0.1:${upstream}`, `127.0.0.1:${relayPort}`];
      hook[0].urlRewrite = rewrite;
      if (legs === 2) hook[1].urlRewrite = rewrite;
    }
    cleanup.push(() => server.stop());
    const relay = await startRelay({ listen: relayPort, upstream, up: profile, seed });
    cleanup.push(() => relay.stop());
    setBase(server.url);
    t.server = Date.now();

    const names = [uniqueName('m2ea'), uniqueName('m2eb')];
    const owner = await registerApi(names[0]);
    const g = await api('POST', '/guilds', { name: 'M2E' }, owner.access_token);
    const invite = await api('POST', `/guilds/${g.id}/invites`, {}, owner.access_token);
    const other = await registerApi(names[1]);
    await api('POST', `/invites/${invite.code}`, undefined, other.access_token);

    const users = [];
    for (let i = 0; i < 2; i++) {
      const u = await openPage(browser, hook[i], mode === 'p2p');
      cleanup.push(() => u.context.close());
      await loginUi(u.page, names[i]);
      u.id = await myId(u.page);
      users.push(u);
    }
    for (const u of users) {
      await u.page.getByRole('button', { name: 'Join voice' }).click();
      await u.page.getByRole('button', { name: 'Leave voice' }).waitFor();
    }
    t.joined = Date.now();
    // Both hear the other's markers.
    for (const u of users)
      await until(() => u.page.evaluate(() => window.__m2e.remote.length >= 2), { timeout: 40_000, interval: 200, what: `${mode}: markers heard (${profile})` }).catch(async (e) => {
        const d = await u.page.evaluate(() => ({ errors: window.__m2e.errors, taps: window.__m2e.taps.length, remote: window.__m2e.remote.length, local: window.__m2e.local.length, logs: window.__hype.store.logs.slice(-10) }));
        throw new Error(`${e.message}: ${JSON.stringify(d)}\nevery page:\n${await describePages()}`);
      });
    t.hearing = Date.now();
    log(`${mode} ${profile} red=${red}: connected in ${((t.hearing - t.start) / 1000).toFixed(1)} s, warming up ${warmupS} s`);
    await sleep(warmupS * 1000);

    const wall = (p) => p.evaluate(() => performance.timeOrigin + performance.now());
    const before = await Promise.all(users.map((u) => u.page.evaluate(() => window.__m2e.rtpStats())));
    const from = await wall(users[0].page);
    await sleep(durationS * 1000);
    const to = await wall(users[0].page);
    const after = await Promise.all(users.map((u) => u.page.evaluate(() => window.__m2e.rtpStats())));
    // Markers emitted in the last second may still be on the way.
    await sleep(1500);
    const transmitting = await Promise.all(users.map((u) => u.page.evaluate(() => window.__hype.rtcService.getSnapshot().transmitting)));
    const dumps = await Promise.all(users.map((u) => u.page.evaluate(() => window.__m2e.dump())));
    const relayFinal = await relay.stop();
    // The SFU's own audio counters (RED, NACK, drops), non-zero ones: what the path did.
    const serverMetrics =
      mode === 'sfu'
        ? Object.fromEntries(
            (await (await fetch(`${server.url}/metrics`)).text())
              .split('\n')
              .filter((l) => /^sfu_(red|nack|dropped|forwarded_packets|received_packets|rtx|sent_packets|audio_padding)/.test(l))
              .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))])
              .filter(([, v]) => v !== 0),
          )
        : undefined;

    const dirs = [
      { name: 'a->b', ...matchDirection(dumps[0], dumps[1], { from, to }), ...sumStats(before[1], after[1], dumps[0], dumps[1]) },
      { name: 'b->a', ...matchDirection(dumps[1], dumps[0], { from, to }), ...sumStats(before[0], after[0], dumps[1], dumps[0]) },
    ];
    const delays = dirs.flatMap((d) => d.delays).sort((a, b) => a - b);
    const emitted = dirs.reduce((a, d) => a + d.emitted, 0);
    const totalSamples = dirs.reduce((a, d) => a + d.totalSamples, 0);
    const concealed = dirs.reduce((a, d) => a + d.concealedSamples, 0);
    return {
      mode,
      profile,
      red,
      legs,
      lever,
      durationS,
      emitted,
      detected: delays.length,
      detectedPct: emitted ? (100 * delays.length) / emitted : 0,
      p50: percentile(delays, 50),
      p95: percentile(delays, 95),
      max: delays.length ? delays[delays.length - 1] : NaN,
      min: delays.length ? delays[0] : NaN,
      concealedPct: totalSamples ? (100 * concealed) / totalSamples : NaN,
      concealmentEvents: dirs.reduce((a, d) => a + d.concealmentEvents, 0),
      delays,
      directions: dirs.map(({ delays: _d, ...rest }) => rest),
      transmitting,
      pages: dumps.map((d) => ({ webaudioHopMs: loopHopMs(d), baseLatency: d.baseLatency, outputLatency: d.outputLatency, skewMs: d.skewMs, taps: d.taps, errors: d.errors, clockReports: d.clk.length })),
      relay: relayFinal,
      serverMetrics,
      timing: { setupS: (t.hearing - t.start) / 1000 },
    };
  } finally {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  }
}

/** One line per case for logs and tables. */
export function describeCase(r) {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  const codecs = r.directions.map((d) => `${d.sendCodec}>${d.recvCodec}`).join(' ');
  return `${r.mode.padEnd(3)} ${r.profile.padEnd(7)} red=${r.red.padEnd(7)} legs=${r.legs}${r.lever && r.lever !== 'base' ? ` lever=${r.lever}` : ''} markers ${r.detected}/${r.emitted} m2e p50 ${f(r.p50)} p95 ${f(r.p95)} max ${f(r.max)} ms, concealed ${r.concealedPct.toFixed(2)} % (${r.concealmentEvents} events), codecs ${codecs}`;
}
