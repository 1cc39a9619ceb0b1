// Adaptive screen share (issue 15), the short CI version of bench/video/adapt.mjs: a streamer
// and two good viewers in the root namespace, a weak viewer in a netns-lab namespace whose
// downlink steps down twice and back up. The weak viewer must follow its link (first below
// the top quality, by dropping temporal layers of the top layer or a spatial layer, then down
// to the lowest spatial layer, 640 px, then back to 1920 px at full frame rate) without long
// freezes, while the good viewers keep the top layer and the streamer keeps sending it.
// Chromium's fake screen codes in about 1 Mbit/s at 1080p, so the caps are set from the
// layers' measured rates (not the issue's 10/4/1.5 Mbit/s, which need busier content:
// bench/video/adapt.mjs). Needs root and ip netns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, joinVoiceMuted, launch, loginUi, myId, openUser, registerApi, setBase, sleep, streamTile, uniqueName, until } from './lib/browser.mjs';
import { netnsLab, netnsSkip } from './lib/netns_lab.mjs';
import { startHype } from './lib/server.mjs';

const NET = '10.89';
const HIGH = 10; // Mbit/s

/** A viewer's inbound video of `userId`'s stream (its stream connection). */
function inbound(page, userId) {
  return page.evaluate(async (uid) => {
    const link = window.__hype.rtcService.streams.connection;
    if (!link) return null;
    const byMid = new Map([...link.signaling.sections.values()].map((s) => [s.mid, s]));
    let out = null;
    (await link.pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      const sec = byMid.get(s.mid);
      if (!sec || !sec.active || sec.userId !== uid) return;
      out = {
        t: performance.now(),
        width: s.frameWidth ?? 0,
        framesDecoded: s.framesDecoded ?? 0,
        bytes: s.bytesReceived ?? 0,
        freezeCount: s.freezeCount ?? 0,
        freezeSecs: s.totalFreezesDuration ?? 0,
      };
    });
    return out;
  }, userId);
}

/**
 * The frame rate the streamer coded at between two layers() samples: its 30 fps layers' (h
 * and f; q is 15 fps) best, so a stop of its top layer (its own encoder's doing) does not
 * lower the bar its viewers are held to.
 */
function codedFps(a, b) {
  const dt = (b.t - a.t) / 1000;
  return Math.max(...['h', 'f'].map((rid) => (a[rid] && b[rid] ? (b[rid].frames - a[rid].frames) / dt : 0)));
}

/** The streamer's layers: bytes sent per rid. */
function layers(page) {
  return page.evaluate(async () => {
    const out = { t: performance.now() };
    (await window.__hype.rtcService.streams.connection.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) out[s.rid] = { bytes: s.bytesSent ?? 0, frames: s.framesEncoded ?? 0, width: s.frameWidth ?? 0, fps: s.framesPerSecond ?? 0, limit: s.qualityLimitationReason, limits: s.qualityLimitationDurations, plis: s.pliCount ?? 0 };
      if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) out.uplinkEstimate = s.availableOutgoingBitrate;
    });
    return out;
  });
}

/** A viewer's picture of `userId`'s stream over the next `ms`: width, frame rate, Mbit/s. */
async function quality(page, userId, ms = 1000) {
  const a = await inbound(page, userId);
  await sleep(ms);
  const b = await inbound(page, userId);
  if (!a || !b) return null;
  const dt = (b.t - a.t) / 1000;
  return { width: b.width, fps: (b.framesDecoded - a.framesDecoded) / dt, mbps: ((b.bytes - a.bytes) * 8) / dt / 1e6, freezeMs: Math.round((b.freezeSecs - a.freezeSecs) * 1000) };
}

async function layerRates(page, secs) {
  const a = await layers(page);
  await sleep(secs * 1000);
  const b = await layers(page);
  const dt = (b.t - a.t) / 1000;
  const r = {};
  for (const rid of ['q', 'h', 'f']) r[rid] = a[rid] && b[rid] ? ((b[rid].bytes - a[rid].bytes) * 8) / dt / 1e6 : 0;
  // What limits the streamer's encoder (a loaded machine: "cpu", and a lower frame rate).
  r.top = b.f ? { fps: b.f.fps, limit: b.f.limit, limitSecs: Object.fromEntries(Object.entries(b.f.limits ?? {}).map(([k, v]) => [k, +v.toFixed(1)])) } : null;
  return r;
}



describe('Adaptive screen share: a weak viewer follows its link (netns lab)', { skip: netnsSkip, timeout: 240_000 }, () => {
  const lab = netnsLab(`sim${process.pid}-`);
  let server;
  let weakNs;
  let rootBrowser;
  let weakBrowser;
  const users = {};

  before(async () => {
    await lab.destroyAll();
    weakNs = await lab.client('weak', { net: NET, down: `${HIGH}mbit`, up: '10mbit' });
    server = await startHype({
      own: true,
      host: weakNs.hub,
      env: { HYPE_LOG_LEVEL: 'debug', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(44000 + Math.floor(Math.random() * 2000)), HYPE_SFU_ANNOUNCED_IP: weakNs.hub, HYPE_SFU_BIND_IP: weakNs.hub },
    });
    setBase(server.url);
    rootBrowser = await launch({ args: [`--unsafely-treat-insecure-origin-as-secure=${server.url}`] });
    weakBrowser = await weakNs.launchChromium({ origins: [server.url] });
    const names = { a: uniqueName('streamer'), b: uniqueName('weak'), c: uniqueName('good'), d: uniqueName('good2') };
    const auth = {};
    for (const [k, n] of Object.entries(names)) auth[k] = await registerApi(n);
    const guild = await api('POST', '/guilds', { name: 'Adaptive' }, auth.a.access_token);
    const invite = (await api('POST', `/guilds/${guild.id}/invites`, {}, auth.a.access_token)).code;
    for (const k of ['b', 'c', 'd']) await api('POST', `/invites/${invite}`, undefined, auth[k].access_token);
    for (const [k, browser] of [
      ['a', rootBrowser],
      ['c', rootBrowser],
      ['d', rootBrowser],
      ['b', weakBrowser],
    ]) {
      const u = await openUser(browser);
      await loginUi(u.page, names[k]);
      u.name = names[k];
      u.id = await myId(u.page);
      users[k] = u;
    }
  });
  after(async () => {
    await rootBrowser?.close().catch(() => {});
    await lab.destroyAll();
    await server?.stop();
  });

  it('the weak viewer steps down and back up layer by layer; the good viewers and the streamer are untouched', async (t) => {
    const { a, b, c, d } = users;
    const goods = [c, d];
    for (const u of [a, b, c, d]) await joinVoiceMuted(u, { timeout: 30_000 });
    await a.page.getByLabel('Stream quality').selectOption('1080p30');
    await a.page.getByLabel('Content type').selectOption('text');
    await a.page.getByRole('button', { name: 'Share screen' }).click();
    await a.page.getByRole('button', { name: 'Stop sharing' }).waitFor();
    for (const v of [b, c, d]) await streamTile(v.page, a.id).getByRole('button', { name: 'Watch stream' }).click({ timeout: 20_000 });
    for (const v of [b, c, d]) await until(async () => (await inbound(v.page, a.id))?.width === 1920, { what: `${v.name} gets the top layer`, timeout: 40_000, interval: 500 });

    // The streamer's own encoder may hold its top layer back for a few seconds (its uplink
    // estimate, see below): the caps are set from a window where all three layers were sent.
    let rates;
    for (let i = 0; i < 5; ++i) {
      rates = await layerRates(a.page, 3);
      t.diagnostic(`the streamer's layers (Mbit/s): ${JSON.stringify(rates)}`);
      if (rates.q > 0 && rates.h > rates.q && rates.f > rates.h) break;
    }
    assert.ok(rates.q > 0 && rates.h > rates.q && rates.f > rates.h, 'three layers, growing');
    const full = await quality(c.page, a.id, 2000);
    t.diagnostic(`the good viewer: ${JSON.stringify(full)}`);
    // Caps (plus stream audio and headers): between the middle and the top layer (the top
    // layer's lower temporal layers or the middle layer fit, the whole top layer does not);
    // then between the lowest layer and the middle layer's T0 (about 40 % of it: VP8's three
    // temporal layers), so only the lowest layer fits.
    const audio = 0.2;
    const capMid = +((rates.h + rates.f) / 2 + audio).toFixed(2);
    const capLow = +((rates.q + 0.4 * rates.h) / 2 + audio).toFixed(2);
    t.diagnostic(`caps: ${HIGH} -> ${capMid} -> ${capLow} -> ${HIGH} Mbit/s`);

    // The good viewers and the streamer's top layer over the whole schedule.
    const good0 = await Promise.all(goods.map((g) => inbound(g.page, a.id)));
    const weak0 = await inbound(b.page, a.id);
    const sent0 = await layers(a.page);
    // The good viewers' width every 500 ms, next to whether the streamer's top layer had been
    // sending for the 2 s before (its own encoder may drop it for a while, for its CPU or its
    // uplink estimate: then nobody can be on it, which is not the weak viewer's doing).
    let goodMinWidth = Math.min(...good0.map((g) => g.width));
    const goodBelowTop = []; // samples below 1920 px while the top layer had been sending
    let topSendingSince = Date.now();
    let lastTop = sent0.f?.bytes ?? 0;
    let lastTopAt = sent0.t;
    const topWhileSending = { bytes: 0, ms: 0 }; // the top layer's rate while it was sent at all
    const topStops = []; // when the streamer stopped sending its top layer, and why it says
    const t00 = Date.now();
    const watchGood = setInterval(async () => {
      const s = await Promise.all(goods.map((g) => inbound(g.page, a.id).catch(() => null)));
      const l = await layers(a.page).catch(() => null);
      if (l?.f) {
        if (l.f.bytes === lastTop && topSendingSince !== Infinity) topStops.push(`${((Date.now() - t00) / 1000).toFixed(1)} s: ${l.f.limit}, uplink estimate ${((l.uplinkEstimate ?? 0) / 1e6).toFixed(2)} Mbit/s`);
        if (l.f.bytes === lastTop) topSendingSince = Infinity;
        else {
          if (topSendingSince === Infinity) topSendingSince = Date.now();
          else {
            topWhileSending.bytes += l.f.bytes - lastTop;
            topWhileSending.ms += l.t - lastTopAt;
          }
        }
        lastTop = l.f.bytes;
        lastTopAt = l.t;
      }
      s.forEach((g, i) => {
        if (!g) return;
        goodMinWidth = Math.min(goodMinWidth, g.width);
        if (g.width !== 1920 && Date.now() - topSendingSince > 2000) goodBelowTop.push(`${goods[i].name}: ${g.width}px ${Date.now() - topSendingSince} ms after the top layer resumed`);
      });
    }, 500);

    // The weak viewer's picture over time (from its step's cap change, 1 s windows).
    const timeline = [];
    const step = async (cap, what, accept, limitMs) => {
      const t0 = Date.now();
      weakNs.set({ down: `${cap}mbit` });
      await until(
        async () => {
          // The weak viewer's picture over 1 s, and the frame rate the streamer coded
          // meanwhile (a loaded box slows the capture: the weak viewer is judged against
          // what there was to receive).
          const s0 = await layers(a.page);
          const q = await quality(b.page, a.id);
          const s1 = await layers(a.page);
          if (q) q.coded = codedFps(s0, s1);
          if (!q) {
            const state = await b.page.evaluate(() => {
              const link = window.__hype.rtcService.streams.connection;
              if (!link) return 'no stream connection';
              return `pc ${link.pc.connectionState}, sections ${JSON.stringify([...link.signaling.sections.values()].map((x) => [x.mid, x.active, x.userId]))}`;
            });
            timeline.push(`${cap}M+${Date.now() - t0}ms:no stats (${state})`);
            return false;
          }
          timeline.push(`${cap}M+${Date.now() - t0}ms:${q.width}px/${q.fps.toFixed(0)}fps(of ${q.coded.toFixed(0)})/${q.mbps.toFixed(2)}M${q.freezeMs ? `/freeze ${q.freezeMs}ms` : ''}`);
          return accept(q);
        },
        { what: `the weak viewer ${what} on ${cap} Mbit/s`, timeout: limitMs, interval: 100 },
      );
      return Date.now() - t0;
    };
    const timings = {};
    const snapshot = async () => {
      const m = await fetch(`${server.url}/metrics`).then((r) => r.text()).catch(() => '');
      const decisions = server.log().split('\n').filter((l) => l.includes('layer ') && l.includes('estimate')).slice(-12).join('\n');
      const events = server.log().split('\n').filter((l) => / (info|warn|error) /.test(l) || (/ debug /.test(l) && !/ layer /.test(l))).slice(-25).join('\n');
      return `${m.split('\n').filter((l) => /^sfu_(layer_switches|bwe_probe|layer_pauses|layer_resumes)/.test(l)).join('; ')}\nlast decisions:\n${decisions}\nlast events:\n${events}`;
    };
    const topFps = 0.8; // of the frame rate the streamer coded
    try {
      timings.down1 = await step(capMid, 'below the top quality', (q) => q.mbps <= capMid && (q.width < 1920 || q.fps < topFps * q.coded), 15_000);
      await sleep(3000);
      timings.down2 = await step(capLow, 'at 640 px', (q) => q.width === 640, 15_000);
      await sleep(3000);
      timings.up = await step(HIGH, `at 1920 px and >= ${topFps * 100} % of the coded frame rate`, (q) => q.width === 1920 && q.coded > 0 && q.fps >= topFps * q.coded, 20_000);
      await sleep(2000);
    } catch (e) {
      if (process.env.HYPE_E2E_KEEP_LOG) (await import('node:fs')).writeFileSync(process.env.HYPE_E2E_KEEP_LOG, server.log());
      throw new Error(`${e.message}; the weak viewer so far: ${timeline.join(' ')}; switch times so far ${JSON.stringify(timings)} ms; SFU: ${await snapshot()}`);
    } finally {
      clearInterval(watchGood);
    }
    const weak1 = await inbound(b.page, a.id);
    const good1 = await Promise.all(goods.map((g) => inbound(g.page, a.id)));
    const sent1 = await layers(a.page);
    const goodFps = good1.map((g1, i) => (g1.framesDecoded - good0[i].framesDecoded) / ((g1.t - good0[i].t) / 1000));
    const weakFreezes = { count: weak1.freezeCount - weak0.freezeCount, secs: +(weak1.freezeSecs - weak0.freezeSecs).toFixed(2) };
    const goodFreezes = good1.map((g1, i) => g1.freezeCount - good0[i].freezeCount);
    const topMbps = ((sent1.f.bytes - sent0.f.bytes) * 8) / ((sent1.t - sent0.t) / 1000) / 1e6;
    const topSendingMbps = topWhileSending.ms > 0 ? (topWhileSending.bytes * 8) / topWhileSending.ms / 1e3 : 0;
    const topPlis = sent1.f.plis - sent0.f.plis;
    const topSentFps = codedFps(sent0, sent1);
    t.diagnostic(`weak viewer: adapted in ${JSON.stringify(timings)} ms (each includes a 1 s measuring window), freezes ${JSON.stringify(weakFreezes)}; ${timeline.join(' ')}`);
    t.diagnostic(`good viewers: min width ${goodMinWidth}${goodMinWidth < 1920 ? ' (while the streamer did not send its top layer)' : ''}; the streamer's top layer stopped at ${JSON.stringify(topStops)}, ${goodFps.map((f) => f.toFixed(1)).join(' / ')} fps (the streamer coded ${topSentFps.toFixed(1)}), freezes ${goodFreezes.join(' / ')}; streamer's top layer ${topMbps.toFixed(2)} Mbit/s over the schedule, ${topSendingMbps.toFixed(2)} while it was sent (${rates.f.toFixed(2)} before), ${topPlis} PLIs for it`);
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text()).catch(() => '');
    t.diagnostic(`SFU: ${metrics.split('\n').filter((l) => /^sfu_(layer_switches|bwe_|keyframe_requests|layer_pauses|layer_resumes)/.test(l)).join('; ')}`);
    t.diagnostic(`SFU layer decisions:\n${server.log().split('\n').filter((l) => l.includes('layer ') && l.includes('estimate')).join('\n')}`);

    // The good viewers kept the top layer at full rate; the streamer kept sending it. Its own
    // encoder may stop the top layer for a few seconds when its uplink estimate dips (on this
    // loaded box its estimate sits just above what Chromium needs for three layers: the lower
    // layers' targets plus the top layer's minimum, ~3.8 Mbit/s): that is not the weak viewer's
    // doing, so the rate is compared while the layer is sent, and what the weak viewer could
    // do to the streamer (keyframe requests for the top layer) is bounded: one per return to
    // it, a few with retries, and one per viewer each time the streamer's own top layer comes
    // back after a stop.
    assert.deepEqual(goodBelowTop, [], 'the good viewers stayed on the top layer whenever the streamer sent it');
    // At the frame rate the streamer coded (a loaded box slows its capture: 13-27 fps seen,
    // and the viewers' decoders: 0.8 of it seen). A temporal layer withheld from a good viewer
    // would leave it half the frames or less (VP8's three layers: T0+T1 is every other frame).
    for (const [i, f] of goodFps.entries()) assert.ok(f >= 0.7 * topSentFps, `${goods[i].name} fps ${f.toFixed(1)}, the streamer coded ${topSentFps.toFixed(1)}`);
    assert.ok(topSendingMbps >= rates.f * 0.7, `the streamer's top layer went from ${rates.f.toFixed(2)} to ${topSendingMbps.toFixed(2)} Mbit/s while it was sent`);
    const pliBound = 4 + 3 * topStops.length;
    assert.ok(topPlis <= pliBound, `${topPlis} keyframe requests for the streamer's top layer over the schedule (bound ${pliBound}: ${topStops.length} stops of its own)`);
    // The weak viewer froze for less than 2 s in all. The goal is none over 300 ms; the cut to
    // the low cap (to about 40 % of the link) overloads the link until the switch, and a
    // loaded 2-core box adds its own: 0.7-1.2 s in this session's runs, measured in the bench.
    assert.ok(weakFreezes.secs < 2, `weak viewer frozen ${weakFreezes.secs} s over the schedule`);
    // The estimator probed and measured: the way back up after the low cap.
    const probes = (result) => Number(metrics.match(new RegExp(`^sfu_bwe_probes_total\\{result="${result}"\\} (\\d+)`, 'm'))?.[1] ?? NaN);
    assert.ok(probes('measured') >= 1, `probe clusters measured: ${probes('measured')}`);
  });
});
