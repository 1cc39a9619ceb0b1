// Simulcast layers nobody watches are paused at the streamer (issue 15; docs/design/simulcast.md)
// in real Chromium, through the web client's own UI:
// - A goes live (1080p30) with nobody watching: after the SFU's 5 s hold A's outbound-rtp
//   shows only the q layer sending; h and f send ~0 bytes/s and are inactive.
// - B starts watching: h and f resume at once and B decodes 1920 px frames within seconds.
// - B stops: the top layers keep running through the hold, then pause again.
// Prints A's sent bitrate and encoder time per layer, and the CPU of A's browser, in each state.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { api, joinVoiceMuted, launch, loginUi, myId, openUser, registerApi, setBase, sleep, streamTile, uniqueName, until } from './lib/browser.mjs';
import { startHype } from './lib/server.mjs';



/** A's outbound video per rid: cumulative bytes, encode time and frames, and the active flag. */
function outbound(page) {
  return page.evaluate(async () => {
    const c = window.__hype.rtcService.streams.connection;
    const report = await c.pc.getStats();
    const out = { t: performance.now(), layers: c.layers, rids: {} };
    report.forEach((s) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      out.rids[s.rid] = { bytes: s.bytesSent ?? 0, encodeS: s.totalEncodeTime ?? 0, frames: s.framesEncoded ?? 0, width: s.frameWidth ?? 0, active: s.active };
    });
    return out;
  });
}

function processes() {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return procs;
}

/** Our child processes now (a launched Chromium is a child of this test process). */
const children = () => new Set([...processes()].filter(([, p]) => p.ppid === process.pid).map(([pid]) => pid));

/** CPU seconds (user + system) of a process and all its descendants (Chromium's tree). */
function treeCpuSeconds(root) {
  const procs = processes();
  let ticks = 0;
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) if (!want.has(pid) && want.has(p.ppid)) (want.add(pid), (grew = true));
  }
  for (const pid of want) ticks += procs.get(pid)?.ticks ?? 0;
  return ticks / 100;
}

/** Per rid over `ms`: sent kbit/s and encoder ms per second; plus the browser's CPU share. */
async function measure(page, browserPid, ms) {
  const c0 = treeCpuSeconds(browserPid);
  const s0 = await outbound(page);
  await sleep(ms);
  const s1 = await outbound(page);
  const c1 = treeCpuSeconds(browserPid);
  const secs = (s1.t - s0.t) / 1000;
  const rids = {};
  for (const [rid, b] of Object.entries(s1.rids)) {
    const a = s0.rids[rid] ?? { bytes: 0, encodeS: 0, frames: 0 };
    rids[rid] = {
      kbps: Math.round(((b.bytes - a.bytes) * 8) / secs / 1000),
      encodeMsPerS: Math.round(((b.encodeS - a.encodeS) * 1000) / secs),
      fps: Math.round((b.frames - a.frames) / secs),
      width: b.width,
      active: b.active,
    };
  }
  const totalKbps = Object.values(rids).reduce((x, r) => x + r.kbps, 0);
  return { rids, totalKbps, cpu: (c1 - c0) / secs, layers: s1.layers };
}

const fmt = (m) =>
  `${Object.entries(m.rids)
    .map(([rid, r]) => `${rid}${r.active ? '' : '(paused)'} ${r.kbps} kbit/s ${r.fps} fps ${r.width}px enc ${r.encodeMsPerS} ms/s`)
    .join('; ')}; total ${m.totalKbps} kbit/s; A's browser CPU ${(m.cpu * 100).toFixed(0)} % of a core`;

const pausedTop = { q: true, h: false, f: false };

describe('Simulcast layers paused at the streamer while nobody needs them', () => {
  let server;
  const browsers = [];
  const users = {};
  let browserPid; // A's Chromium (CPU measured over its process tree)

  before(async () => {
    server = await startHype({ own: true, env: { HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(46000 + Math.floor(Math.random() * 2000)) } });
    setBase(server.url);
    const before_ = children();
    browsers.push(await launch());
    browserPid = [...children()].find((pid) => !before_.has(pid));
    browsers.push(await launch());
    const names = { a: uniqueName('streamer'), b: uniqueName('viewer') };
    const auth = {};
    for (const [k, n] of Object.entries(names)) auth[k] = await registerApi(n);
    const owner = auth.a.access_token;
    const guild = await api('POST', '/guilds', { name: 'Layers' }, owner);
    const invite = (await api('POST', `/guilds/${guild.id}/invites`, {}, owner)).code;
    await api('POST', `/invites/${invite}`, undefined, auth.b.access_token);
    for (const [i, k] of ['a', 'b'].entries()) {
      const u = await openUser(browsers[i]);
      await loginUi(u.page, names[k]);
      u.name = names[k];
      u.id = await myId(u.page);
      users[k] = u;
    }
  });
  after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await server?.stop();
  });

  it('only q runs unwatched; f resumes for a watcher (1920 px); the top layers pause again after the hold', async (t) => {
    const { a, b } = users;
    const aPid = browserPid;
    assert.ok(aPid, "A's browser process");
    await joinVoiceMuted(a);
    await joinVoiceMuted(b);
    await a.page.getByLabel('Stream quality').selectOption('1080p30');
    await a.page.getByLabel('Content type').selectOption('game');
    await a.page.getByRole('button', { name: 'Share screen' }).click();
    await a.page.getByRole('button', { name: 'Stop sharing' }).waitFor();
    const wentLive = Date.now();

    // 1. Nobody watches: the SFU pauses h and f after its hold (5 s) and the client obeys.
    await until(async () => JSON.stringify((await outbound(a.page)).layers) === JSON.stringify(pausedTop), {
      timeout: 20_000,
      what: "A's client told to run only q",
    });
    t.diagnostic(`paused ${((Date.now() - wentLive) / 1000).toFixed(1)} s after going live`);
    await sleep(1000); // the encoder has stopped the layers
    const idle = await measure(a.page, aPid, 3000);
    t.diagnostic(`nobody watching: ${fmt(idle)}`);
    assert.ok(idle.rids.q.kbps > 20, `q sends (${idle.rids.q.kbps} kbit/s)`);
    for (const rid of ['h', 'f']) {
      assert.equal(idle.rids[rid].active, false, `${rid} inactive`);
      assert.ok(idle.rids[rid].kbps < 10, `${rid} sends ~nothing (${idle.rids[rid].kbps} kbit/s)`);
    }

    // 2. B watches: every layer resumes at once; B decodes the top layer within seconds.
    await streamTile(b.page, a.id).locator('.live-badge').waitFor({ timeout: 15_000 });
    const clicked = Date.now();
    await streamTile(b.page, a.id).getByRole('button', { name: 'Watch stream' }).click();
    await until(async () => JSON.stringify((await outbound(a.page)).layers) === JSON.stringify({ q: true, h: true, f: true }), {
      timeout: 5000,
      what: "A's client told to resume h and f",
    });
    const resumedMs = Date.now() - clicked;
    const width = () =>
      b.page.evaluate(async () => {
        const c = window.__hype.rtcService.streams.connection;
        if (!c) return 0;
        let w = 0;
        (await c.pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') w = Math.max(w, s.frameWidth ?? 0);
        });
        return w;
      });
    await until(async () => (await width()) === 1920, { timeout: 10_000, interval: 200, what: 'B decodes 1920 px frames' });
    t.diagnostic(`watch click -> resume op ${resumedMs} ms, -> 1920 px at B ${Date.now() - clicked} ms`);
    await sleep(1000);
    const watched = await measure(a.page, aPid, 3000);
    t.diagnostic(`B watching: ${fmt(watched)}`);
    assert.ok(watched.rids.f.kbps > 50, `f sends again (${watched.rids.f.kbps} kbit/s)`);
    assert.ok(watched.rids.h.kbps > 20, `h sends again (${watched.rids.h.kbps} kbit/s)`);

    // 3. B stops: h and f keep running through the hold, then pause again.
    await streamTile(b.page, a.id).getByRole('button', { name: 'Stop watching' }).click();
    const stopped = Date.now();
    await sleep(2000);
    assert.deepEqual((await outbound(a.page)).layers, { q: true, h: true, f: true }, 'still running 2 s after B stopped (hold)');
    await until(async () => JSON.stringify((await outbound(a.page)).layers) === JSON.stringify(pausedTop), {
      timeout: 10_000,
      what: 'h and f paused again',
    });
    t.diagnostic(`paused again ${((Date.now() - stopped) / 1000).toFixed(1)} s after B stopped watching`);
    await sleep(1000);
    const after_ = await measure(a.page, aPid, 2000);
    t.diagnostic(`after B left: ${fmt(after_)}`);
    for (const rid of ['h', 'f']) assert.ok(after_.rids[rid].kbps < 10, `${rid} paused again (${after_.rids[rid].kbps} kbit/s)`);
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text()).catch(() => '');
    t.diagnostic(`SFU: ${metrics.split('\n').filter((l) => /^sfu_layer_/.test(l)).join('; ')}`);
  });
});
