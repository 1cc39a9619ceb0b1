// Screen share ("Go Live") in real Chromium, through the web client's own UI. Chromium's
// fake screen (getDisplayMedia with the fake-device flags) is a 1920x1080@30 picture.
// - A shares (1080p30 preset, "Text" content) in a 2-person channel whose voice stays P2P;
//   the stream goes through the SFU on a connection of its own. B watches: over 20 s B's
//   getStats shows 1920-wide frames at >= 25 fps, no freeze, and a bitrate within the
//   preset's cap; A's tile names B as a viewer; B's channel list shows A as LIVE.
// - A viewer who starts watching mid-stream sees its first frame within 1 s of the click
//   (product requirement; requestVideoFrameCallback on the tile's video).
// - Three streamers in one channel and one viewer watching all three.
// - A member without the Stream permission cannot share: the UI says so, the API answers
//   403 and nothing is captured.
// Three browser processes at most (2 cores): the streamers of the three-stream test share
// browsers in pairs of pages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, myId, openUser, registerApi, setBase, sleep, uniqueName, until } from './lib/browser.mjs';
import { startHype } from './lib/server.mjs';

/** Counts getDisplayMedia calls (the no-permission test checks that nothing is captured). */
function countCaptures() {
  const orig = navigator.mediaDevices?.getDisplayMedia?.bind(navigator.mediaDevices);
  if (!orig) return;
  window.__captures = 0;
  navigator.mediaDevices.getDisplayMedia = (o) => {
    window.__captures++;
    return orig(o);
  };
}

/** Inbound video of this page's stream connection, per streamer (mid -> user from the server offer). */
function streamStats(page) {
  return page.evaluate(async () => {
    const link = window.__hype.rtcService.streams.connection;
    if (!link) return {};
    const byMid = new Map([...link.signaling.sections.values()].map((s) => [s.mid, s]));
    const report = await link.pc.getStats();
    const out = {};
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      const sec = byMid.get(s.mid);
      if (!sec || !sec.active) return;
      out[sec.userId] = {
        frameWidth: s.frameWidth ?? 0,
        framesDecoded: s.framesDecoded ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
        freezeCount: s.freezeCount ?? 0,
        codec: s.codecId ? report.get(s.codecId)?.mimeType : null,
        t: performance.now(),
      };
    });
    return out;
  });
}

const tile = (page, userId) => page.locator(`.stream-tile[data-user-id="${userId}"]`);

async function joinVoice(u) {
  await u.page.evaluate(() => window.__hype.rtcService.setMute(true));
  await u.page.getByRole('button', { name: 'Join voice' }).click();
  await until(() => u.page.evaluate(() => window.__hype.rtcService.getSnapshot().status === 'connected'), { what: `${u.name} in voice` });
}

async function share(u, presetId, content) {
  await u.page.getByLabel('Stream quality').selectOption(presetId);
  await u.page.getByLabel('Content type').selectOption(content);
  await u.page.getByRole('button', { name: 'Share screen' }).click();
  await u.page.getByRole('button', { name: 'Stop sharing' }).waitFor();
}

describe('Screen share in Chromium', () => {
  let server;
  const browsers = [];
  const users = {};
  let guild;
  let channelId;
  let ownerToken;

  before(async () => {
    server = await startHype({ own: true, env: { HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(44000 + Math.floor(Math.random() * 2000)) } });
    setBase(server.url);
    for (let i = 0; i < 3; i++) browsers.push(await launch());
    const names = { a: uniqueName('streamer'), b: uniqueName('viewer'), c: uniqueName('third'), d: uniqueName('fourth') };
    const auth = {};
    for (const [k, n] of Object.entries(names)) auth[k] = await registerApi(n);
    ownerToken = auth.a.access_token;
    guild = await api('POST', '/guilds', { name: 'Streams' }, ownerToken);
    channelId = (await api('GET', `/guilds/${guild.id}`, undefined, ownerToken)).channels.find((ch) => ch.kind === 'voice').id;
    const invite = (await api('POST', `/guilds/${guild.id}/invites`, {}, ownerToken)).code;
    for (const k of ['b', 'c', 'd']) await api('POST', `/invites/${invite}`, undefined, auth[k].access_token);
    // a and c share browser 0, b is alone in browser 1 (the viewer), d in browser 2.
    const where = { a: 0, c: 0, b: 1, d: 2 };
    for (const k of ['a', 'b', 'c', 'd']) {
      const u = await openUser(browsers[where[k]]);
      await u.context.addInitScript(countCaptures);
      await u.page.reload();
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

  it('A shares 1080p30 in a P2P channel through the SFU; B watches 1920 px at >= 25 fps without freezes', async (t) => {
    const { a, b } = users;
    await joinVoice(a);
    await joinVoice(b);
    await share(a, '1080p30', 'text');
    // B sees A live in the channel list and on the stage, and watches.
    await b.page.locator(`.voice-members li[data-user-id="${a.id}"] .live-badge`).waitFor({ timeout: 15_000 });
    await tile(b.page, a.id).locator('.live-badge').waitFor({ timeout: 15_000 });
    await tile(b.page, a.id).getByRole('button', { name: 'Watch stream' }).click();
    await tile(b.page, a.id).getByRole('button', { name: 'Stop watching' }).waitFor();
    // The streamer's own tile names who watches; B's tile counts one viewer.
    await tile(a.page, a.id).filter({ hasText: `Watching: ${b.name}` }).waitFor({ timeout: 15_000 });
    await tile(b.page, a.id).filter({ hasText: '1 watching' }).waitFor();

    // Voice stayed P2P; the stream has its own connection to the SFU (ICE-lite).
    // (The watcher's stream connection opens on its click: "1 watching" comes from signaling,
    // so DTLS may still be finishing; wait for it rather than sample one instant.)
    for (const u of [a, b]) {
      const probe = () => u.page.evaluate(() => {
        const r = window.__hype.rtcService;
        const link = r.streams.connection;
        return { mode: r.getSnapshot().mode, transport: r.currentTransport?.mode, link: !!link, iceLite: /a=ice-lite/.test(link?.pc.remoteDescription?.sdp ?? ''), state: link?.pc.connectionState };
      });
      await until(async () => (await probe()).state === 'connected', { what: `${u.name}'s stream connection connected` }).catch(() => {});
      const s = await probe();
      assert.deepEqual(s, { mode: 'p2p', transport: 'p2p', link: true, iceLite: true, state: 'connected' }, `${u.name}: ${JSON.stringify(s)}`);
    }
    // The sender's explicit limits for the preset.
    const params = await a.page.evaluate(() => {
      const v = window.__hype.rtcService.streams.connection.pc.getSenders().find((x) => x.track?.kind === 'video');
      const p = v.getParameters();
      return { enc: p.encodings.map((e) => ({ rid: e.rid, scale: e.scaleResolutionDownBy, maxBitrate: e.maxBitrate, maxFramerate: e.maxFramerate })), degradation: p.degradationPreference, hint: v.track.contentHint };
    });
    // Three simulcast layers, lowest first; the SFU forwards B one of them.
    assert.deepEqual(params.enc, [
      { rid: 'q', scale: 3, maxBitrate: 500_000, maxFramerate: 15 },
      { rid: 'h', scale: 1.5, maxBitrate: 2_500_000, maxFramerate: 30 },
      { rid: 'f', scale: 1, maxBitrate: 6_000_000, maxFramerate: 30 },
    ]);
    assert.equal(params.hint, 'detail');

    // Ramp-up: wait for full-size frames at full rate, then measure 20 s.
    let prev = null;
    await until(
      async () => {
        const s = (await streamStats(b.page))[a.id];
        const ok = s && prev && s.frameWidth === 1920 && ((s.framesDecoded - prev.framesDecoded) * 1000) / (s.t - prev.t) >= 25;
        prev = s;
        return ok;
      },
      { timeout: 30_000, interval: 1000, what: 'B decodes 1920 px frames at >= 25 fps' },
    );
    const first = (await streamStats(b.page))[a.id];
    let minWidth = first.frameWidth;
    let last = first;
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      await sleep(1000);
      last = (await streamStats(b.page))[a.id];
      minWidth = Math.min(minWidth, last.frameWidth);
    }
    // The streamer's layers as its browser sends them (size, rate, what limits them).
    const layers = await a.page.evaluate(async () => {
      const report = await window.__hype.rtcService.streams.connection.pc.getStats();
      const out = [];
      report.forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video')
          out.push(`${s.rid}: ${s.frameWidth ?? 0}x${s.frameHeight ?? 0} ${s.framesPerSecond ?? 0} fps, ${s.qualityLimitationReason}, ${JSON.stringify(s.qualityLimitationResolutionChanges)} changes, active ${s.active}`);
      });
      return out.join('; ');
    });
    t.diagnostic(`A sends: ${layers}`);
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text()).catch(() => '');
    t.diagnostic(`SFU: ${metrics.split('\n').filter((l) => /^sfu_(layer_switches|dropped|nack|plis|keyframe|rtx)/.test(l)).join('; ')}`);
    const secs = (last.t - first.t) / 1000;
    const fps = (last.framesDecoded - first.framesDecoded) / secs;
    const mbps = ((last.bytesReceived - first.bytesReceived) * 8) / secs / 1e6;
    t.diagnostic(`B over ${secs.toFixed(1)} s: ${last.codec}, min width ${minWidth}, ${fps.toFixed(1)} fps, ${mbps.toFixed(2)} Mbps, freezes ${last.freezeCount - first.freezeCount}`);
    assert.equal(minWidth, 1920);
    assert.ok(fps >= 25, `fps ${fps.toFixed(1)}`);
    assert.equal(last.freezeCount - first.freezeCount, 0, 'freezes during the 20 s');
    // Chromium's fake screen is a flat picture that VP8 codes in about 1 Mbps at 1080p30;
    // the 2-8 Mbps of the product goal needs busier content (see docs/benchmarks.md), so
    // this checks the media flows at a real rate and never above the 1080p60 cap.
    assert.ok(mbps > 0.3 && mbps <= 8, `bitrate ${mbps.toFixed(2)} Mbps`);
  });

  it('a viewer who starts watching mid-stream gets the first frame within 1 s', async (t) => {
    const { a, b } = users;
    await tile(b.page, a.id).getByRole('button', { name: 'Stop watching' }).click();
    // Nothing watched and nothing shared: B's stream connection closes.
    await until(() => b.page.evaluate(() => window.__hype.rtcService.streams.connection === null), { what: "B's stream connection closed" });
    await sleep(1000);
    const r = await b.page.evaluate(async (aId) => {
      const sel = `.stream-tile[data-user-id="${aId}"]`;
      const button = [...document.querySelectorAll(`${sel} button`)].find((x) => x.textContent === 'Watch stream');
      const t0 = performance.now();
      button.click();
      for (;;) {
        const v = document.querySelector(`${sel} video`);
        if (v) {
          const presented = await new Promise((res) => v.requestVideoFrameCallback((now, md) => res(md.presentationTime ?? now)));
          const tl = window.__hype.rtcService.streams.connection?.timeline ?? {};
          return { ms: presented - t0, steps: Object.fromEntries(Object.entries(tl).map(([k, x]) => [k, Math.round(x - t0)])) };
        }
        await new Promise((res) => setTimeout(res, 5));
        if (performance.now() - t0 > 15_000) return { ms: Infinity, steps: {} };
      }
    }, a.id);
    t.diagnostic(`click to first presented frame: ${r.ms.toFixed(0)} ms; steps ${JSON.stringify(r.steps)}`);
    assert.ok(
      r.ms <= 1000,
      `first frame ${r.ms.toFixed(0)} ms after "Watch stream" (requirement: 1 s). Steps (ms after the click): ${JSON.stringify(r.steps)}. On a loaded 2-core box a keyframe of a 1080p stream can take longer to encode; compare with a quiet machine before reading this as a regression.`,
    );
  });

  it('three streamers in one channel; one viewer watches all three', async (t) => {
    const { a, b, c, d } = users;
    await joinVoice(c);
    await joinVoice(d);
    // A keeps sharing; C and D go live too (720p30 keeps three encoders within 2 cores).
    await share(c, '720p30', 'game');
    await share(d, '720p30', 'game');
    const streamers = [a, c, d];
    for (const s of streamers) await tile(b.page, s.id).locator('.live-badge').waitFor({ timeout: 15_000 });
    for (const s of streamers) {
      const w = tile(b.page, s.id).getByRole('button', { name: 'Watch stream' });
      if (await w.count()) await w.click();
    }
    const ids = streamers.map((s) => s.id);
    const grows = async () => {
      const s1 = await streamStats(b.page);
      await sleep(1500);
      const s2 = await streamStats(b.page);
      return ids.every((id) => s1[id] && s2[id] && s2[id].framesDecoded > s1[id].framesDecoded && s2[id].frameWidth > 0) && s2;
    };
    const s = await until(grows, { timeout: 30_000, interval: 500, what: 'B decodes all three streams' });
    t.diagnostic(`B: ${ids.map((id) => `${id}: ${s[id].frameWidth} px, ${s[id].framesDecoded} frames`).join('; ')}`);
    for (const id of ids) {
      assert.ok((await tile(b.page, id).locator('video').evaluate((v) => v.videoWidth)) > 0, `tile of ${id} plays`);
      await tile(b.page, id).getByRole('button', { name: 'Fullscreen' }).waitFor();
    }
    // Each streamer's own tile names the viewer.
    for (const st of streamers) await tile(st.page, st.id).filter({ hasText: b.name }).waitFor({ timeout: 15_000 });
    // Stream audio: the fake screen carries audio; its tile offers a volume slider.
    const volume = tile(b.page, a.id).getByRole('slider', { name: 'Stream volume' });
    if (await volume.count()) {
      await volume.fill('40');
      assert.equal(await tile(b.page, a.id).locator('video').evaluate((v) => v.volume), 0.4);
    }

    // Stop sharing (button) ends C's tile for B; the browser's own "Stop sharing" (the track
    // ends) does the same for D.
    await c.page.getByRole('button', { name: 'Stop sharing' }).click();
    await d.page.evaluate(() => {
      const tr = window.__hype.rtcService.streams.getSnapshot().local.getVideoTracks()[0];
      tr.stop();
      tr.dispatchEvent(new Event('ended'));
    });
    for (const st of [c, d]) await tile(b.page, st.id).waitFor({ state: 'detached', timeout: 10_000 });
    const states = await api('GET', `/voice/states/${channelId}`, undefined, ownerToken);
    for (const st of [c, d]) assert.equal(states.find((x) => x.user_id === st.id)?.self_stream, false, `${st.name} is no longer live`);
  });

  it('a member without the Stream permission cannot share: UI error and 403, nothing captured', async () => {
    const { c } = users;
    // @everyone (role id = guild id) loses STREAM; c is a plain member.
    const roles = await api('GET', `/guilds/${guild.id}/roles`, undefined, ownerToken);
    const everyone = roles.find((r) => r.id === guild.id);
    await api('PATCH', `/guilds/${guild.id}/roles/${guild.id}`, { permissions: String(BigInt(everyone.permissions) & ~(1n << 4n)) }, ownerToken);
    await until(() => c.page.evaluate((gid) => window.__hype.store.getState().guilds[gid]?.my_permissions !== undefined, guild.id), { what: 'permissions known' });
    const before = await c.page.evaluate(() => window.__captures);
    const res = c.page.waitForResponse((r) => r.url().includes('/voice/stream/') && r.request().method() === 'POST');
    await c.page.getByRole('button', { name: 'Share screen' }).click();
    assert.equal((await res).status(), 403);
    await c.page.getByRole('alert').filter({ hasText: 'You need the Stream permission' }).waitFor({ timeout: 5000 });
    assert.equal(await c.page.evaluate(() => window.__captures), before, 'getDisplayMedia was not called');
    assert.equal(await c.page.getByRole('button', { name: 'Stop sharing' }).count(), 0);
  });
});
