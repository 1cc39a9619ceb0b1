// A viewer behind a shaped link (the netns lab, docs/design/netlab.md): the streamer's Chromium
// runs in the root namespace, the viewer's Chromium inside a client namespace whose downlink
// tbf caps at LOW; the server listens on the lab's hub address (10.X.0.1 on lo) and the SFU
// announces it, so both reach it. This checks the plumbing, not adaptation (the SFU does not
// adapt a viewer's stream to its link yet): the viewer connects and decodes frames, what it
// receives stays at or below the cap (+10 %), and raising the cap to 10 Mbit/s lets more
// through. The freezes and losses at the low cap are printed as the "before" baseline of the
// adaptation work. Needs root and ip netns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, joinVoiceMuted, launch, loginUi, myId, openUser, registerApi, setBase, sleep, streamTile, uniqueName, until } from './lib/browser.mjs';
import { netnsLab, netnsSkip } from './lib/netns_lab.mjs';
import { startHype } from './lib/server.mjs';

const NET = '10.87';
// Chromium's fake screen at 1080p30 ("text") needs about 1.0 Mbit/s: a cap of 1.5 would not
// bind. 0.5 Mbit/s is about half of it (HYPE_NETNS_LAB_LOW overrides, for other baselines).
const LOW = Number(process.env.HYPE_NETNS_LAB_LOW ?? 0.5);
const HIGH = 10;

/** The viewer's stream connection: all bytes received (transport) and the streamer's inbound video. */
function streamStats(page, userId) {
  return page.evaluate(async (uid) => {
    const link = window.__hype.rtcService.streams.connection;
    if (!link) return null;
    const byMid = new Map([...link.signaling.sections.values()].map((s) => [s.mid, s]));
    const report = await link.pc.getStats();
    const out = { t: performance.now(), transportBytes: 0, video: null };
    report.forEach((s) => {
      if (s.type === 'transport') out.transportBytes += s.bytesReceived ?? 0;
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      const sec = byMid.get(s.mid);
      if (!sec || !sec.active || sec.userId !== uid) return;
      out.video = {
        frameWidth: s.frameWidth ?? 0,
        framesDecoded: s.framesDecoded ?? 0,
        framesPerSecond: s.framesPerSecond ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
        packetsReceived: s.packetsReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        freezeCount: s.freezeCount ?? 0,
        totalFreezesDuration: s.totalFreezesDuration ?? 0,
        nackCount: s.nackCount ?? 0,
        pliCount: s.pliCount ?? 0,
        keyFramesDecoded: s.keyFramesDecoded ?? 0,
      };
    });
    return out;
  }, userId);
}

/**
 * Video bytes the streamer's stream connection has sent on its widest simulcast layer (the
 * client sends q/h/f layers; the SFU forwards one of them to a viewer).
 */
function sentBytes(page) {
  return page.evaluate(async () => {
    const link = window.__hype.rtcService.streams.connection;
    let top = { frameWidth: -1, bytesSent: 0 };
    (await link?.pc.getStats())?.forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.frameWidth ?? 0) > top.frameWidth) top = s;
    });
    return { bytes: top.bytesSent ?? 0, t: performance.now() };
  });
}

/**
 * Watches for `secs`: the viewer's rates and counter deltas between the first and the last
 * reading, the streamer's sent video rate and the tbf drops of the viewer's downlink meanwhile.
 */
async function observe(viewer, streamer, ns, secs) {
  // Both pages at once; each rate on its own page's clock (a loaded box answers late).
  const [first, sent0] = await Promise.all([streamStats(viewer.page, streamer.id), sentBytes(streamer.page)]);
  const tc0 = ns.show().stats.down;
  await sleep(secs * 1000);
  const [last, sent1] = await Promise.all([streamStats(viewer.page, streamer.id), sentBytes(streamer.page)]);
  const tc1 = ns.show().stats.down;
  const dt = (last.t - first.t) / 1000;
  const d = (k) => last.video[k] - first.video[k];
  return {
    secs: +dt.toFixed(1),
    sentMbps: +(((sent1.bytes - sent0.bytes) * 8) / ((sent1.t - sent0.t) / 1000) / 1e6).toFixed(3),
    linkMbps: +(((last.transportBytes - first.transportBytes) * 8) / dt / 1e6).toFixed(3),
    videoMbps: +((d('bytesReceived') * 8) / dt / 1e6).toFixed(3),
    tbfDrops: tc1.drops - tc0.drops,
    fps: +(d('framesDecoded') / dt).toFixed(1),
    framesDecoded: d('framesDecoded'),
    width: last.video.frameWidth,
    packetsLost: d('packetsLost'),
    lossPct: +((100 * d('packetsLost')) / Math.max(1, d('packetsLost') + d('packetsReceived'))).toFixed(1),
    freezeCount: d('freezeCount'),
    freezeSecs: +d('totalFreezesDuration').toFixed(2),
    nacks: d('nackCount'),
    plis: d('pliCount'),
    keyFrames: d('keyFramesDecoded'),
  };
}



describe('A viewer behind a shaped downlink (netns lab)', { skip: netnsSkip, timeout: 150_000 }, () => {
  const lab = netnsLab(`e2e${process.pid}-`);
  let server;
  let viewerNs;
  let streamerBrowser;
  let viewerBrowser;
  const users = {};

  before(async () => {
    await lab.destroyAll();
    viewerNs = await lab.client('viewer', { net: NET, down: `${LOW}mbit`, up: '10mbit' });
    server = await startHype({
      own: true,
      host: viewerNs.hub,
      env: { HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(44000 + Math.floor(Math.random() * 2000)), HYPE_SFU_ANNOUNCED_IP: viewerNs.hub, HYPE_SFU_BIND_IP: viewerNs.hub },
    });
    setBase(server.url);
    const origins = [server.url];
    streamerBrowser = await launch({ args: [`--unsafely-treat-insecure-origin-as-secure=${server.url}`] });
    viewerBrowser = await viewerNs.launchChromium({ origins });
    const names = { a: uniqueName('streamer'), b: uniqueName('viewer') };
    const auth = { a: await registerApi(names.a), b: await registerApi(names.b) };
    const guild = await api('POST', '/guilds', { name: 'Shaped' }, auth.a.access_token);
    const invite = (await api('POST', `/guilds/${guild.id}/invites`, {}, auth.a.access_token)).code;
    await api('POST', `/invites/${invite}`, undefined, auth.b.access_token);
    for (const [k, browser] of [
      ['a', streamerBrowser],
      ['b', viewerBrowser],
    ]) {
      const u = await openUser(browser);
      await loginUi(u.page, names[k]);
      u.name = names[k];
      u.id = await myId(u.page);
      users[k] = u;
    }
  });
  after(async () => {
    await streamerBrowser?.close().catch(() => {});
    await lab.destroyAll();
    await server?.stop();
  });

  it(`the viewer connects and decodes at ${LOW} Mbit/s, receives at most the cap, and more at ${HIGH} Mbit/s`, async (t) => {
    const { a, b } = users;
    await joinVoiceMuted(a, { timeout: 30_000 });
    await joinVoiceMuted(b, { timeout: 30_000 });
    await a.page.getByLabel('Stream quality').selectOption('1080p30');
    await a.page.getByLabel('Content type').selectOption('text');
    await a.page.getByRole('button', { name: 'Share screen' }).click();
    await a.page.getByRole('button', { name: 'Stop sharing' }).waitFor();
    // The viewer's page, its API calls and its media all cross the shaped link.
    const t0 = Date.now();
    await streamTile(b.page, a.id).getByRole('button', { name: 'Watch stream' }).click({ timeout: 20_000 });
    await until(async () => (await streamStats(b.page, a.id))?.video?.framesDecoded > 0, { what: 'the viewer decodes frames', timeout: 30_000 }).catch(async (e) => {
      const diag = await b.page.evaluate(async () => {
        const link = window.__hype.rtcService.streams.connection;
        const stats = [];
        (await link?.pc.getStats())?.forEach((s) => ['transport', 'candidate-pair', 'inbound-rtp'].includes(s.type) && stats.push(s));
        return { state: link?.pc.connectionState, ice: link?.pc.iceConnectionState, stats, logs: window.__hype.store.logs.slice(-15) };
      });
      throw new Error(`${e.message}\n${JSON.stringify(diag).slice(0, 4000)}\nserver log:\n${server.log().slice(-2000)}`);
    });
    t.diagnostic(`first frame decoded ${Date.now() - t0} ms after "Watch stream" at ${LOW} Mbit/s`);
    await sleep(3000); // past the first keyframe
    const low = await observe(b, a, viewerNs, 10);
    t.diagnostic(`at ${LOW} Mbit/s (the "before" baseline): ${JSON.stringify(low)}`);
    assert.ok(low.linkMbps <= LOW * 1.1, `received ${low.linkMbps} Mbit/s on a ${LOW} Mbit/s link`);

    viewerNs.set({ down: `${HIGH}mbit` });
    const t1 = Date.now();
    // Decoding resumes once a keyframe gets through (the viewer's PLIs ask for one).
    let prev = (await streamStats(b.page, a.id)).video.framesDecoded;
    await until(
      async () => {
        const now = (await streamStats(b.page, a.id)).video.framesDecoded;
        const ok = now - prev >= 10;
        prev = now;
        return ok;
      },
      { what: `decoding at ${HIGH} Mbit/s`, timeout: 20_000, interval: 500 },
    );
    t.diagnostic(`decoding again ${Date.now() - t1} ms after the cap went to ${HIGH} Mbit/s`);
    await sleep(1000);
    const high = await observe(b, a, viewerNs, 6);
    t.diagnostic(`at ${HIGH} Mbit/s: ${JSON.stringify(high)}`);
    assert.ok(high.framesDecoded > 0, 'frames decoded at the high cap');
    assert.ok(high.linkMbps <= HIGH * 1.1);
    // At the high cap the link holds nothing back (no tail drops).
    assert.equal(high.tbfDrops, 0, `tbf dropped ${high.tbfDrops} packets at ${HIGH} Mbit/s`);
    // More gets through than at the low cap when the cap did bind there (tail drops) and the
    // streamer offers more than it now (on a loaded 2-core box its encoder can fall below).
    if (low.tbfDrops > 0 && high.sentMbps > LOW * 1.3) assert.ok(high.linkMbps > low.linkMbps * 1.1, `more gets through at ${HIGH} Mbit/s (${high.linkMbps} vs ${low.linkMbps} Mbit/s)`);
    else t.diagnostic(`the streamer sent only ${high.sentMbps} Mbit/s (CPU-limited?): "more gets through" not checked`);
  });
});
