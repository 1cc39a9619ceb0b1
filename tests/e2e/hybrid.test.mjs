// Hybrid voice in real Chromium (voice.mode = auto, p2p_max_users = 8): two browsers and six
// seat-holders (users joined over REST that hold a voice state without media: bots only
// speak SFU) make 8 participants, so the browsers talk peer to peer. A 9th participant, a
// speaking hype-bot, moves the channel to the SFU: both browsers connect to the SFU before
// they leave the mesh, and the audio each hears from the other never stops for more than
// 200 ms (getStats of the stream being played, sampled every ~40 ms: packetsReceived and
// concealedSamples). When the bot leaves, the channel stays on the SFU (hysteresis); when it
// falls to p2p_max_users - 2 for voice.sfu_return_delay it goes back to P2P, again without
// losing the browsers' audio.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, launch, loginUi, myId, openUser, registerApi, setBase, sleep, uniqueName, until, voiceRow, assertReceiving, writeToneWav } from './lib/browser.mjs';
import { startHype } from './lib/server.mjs';
import { botSkip, runBots } from './lib/bots.mjs';

const skip = botSkip;
const RETURN_DELAY_S = 4;
const MAX_GAP_MS = 200;

/** Starts sampling, in the page, the played stream's inbound counters for one remote user. */
function startSampler(page, peerId) {
  return page.evaluate((peer) => {
    const g = (window.__gap = { samples: [], stop: false });
    const tick = async () => {
      if (g.stop) return;
      const t = performance.now();
      const { mode, inbound } = await window.__hype.rtcService.playedInbound().catch(() => ({ mode: null, inbound: {} }));
      const a = inbound[peer];
      g.samples.push({ t, mode, p: a?.packetsReceived ?? 0, c: a?.concealedSamples ?? 0 });
      setTimeout(tick, 40);
    };
    void tick();
  }, peerId);
}

async function stopSampler(page) {
  return page.evaluate(() => {
    window.__gap.stop = true;
    return window.__gap.samples;
  });
}

/**
 * The worst audio hole in the samples: for each interval between two samples on the same
 * played stream, the time not covered by the packets that arrived (20 ms each), and the
 * audio NetEq had to conceal. At a cut-over the new stream was already flowing (the client
 * switches only then), so intervals across a mode change are not holes by themselves.
 */
function worstHole(samples) {
  let maxMissing = 0;
  let maxConcealed = 0;
  let switches = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (a.mode !== b.mode) {
      switches++;
      continue;
    }
    const dt = b.t - a.t;
    maxMissing = Math.max(maxMissing, dt - 20 * Math.max(0, b.p - a.p));
    maxConcealed = Math.max(maxConcealed, (b.c - a.c) / 48); // 48 kHz samples -> ms
  }
  return { maxMissing: Math.round(maxMissing), maxConcealed: Math.round(maxConcealed), switches, samples: samples.length };
}

const mode = (page) => page.evaluate(() => window.__hype.rtcService.getSnapshot().mode);

describe('Hybrid voice: P2P to SFU and back in Chromium', { skip }, () => {
  let server;
  let browser;
  let tmp;
  const users = {};
  let channelId;
  let invite;
  let ownerToken;
  const holders = [];
  let bot;

  before(async () => {
    const sfuPort = 45000 + Math.floor(Math.random() * 2000);
    server = await startHype({
      own: true,
      env: { HYPE_VOICE_MODE: 'auto', HYPE_VOICE_P2P_MAX_USERS: '8', HYPE_VOICE_SFU_RETURN_DELAY: String(RETURN_DELAY_S), HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(sfuPort) },
    });
    setBase(server.url);
    tmp = mkdtempSync(join(tmpdir(), 'hype-hybrid-'));
    browser = await launch({ args: [`--use-file-for-fake-audio-capture=${writeToneWav(join(tmp, 'tone.wav'))}`] });
    const names = { alice: uniqueName('ha'), bob: uniqueName('hb') };
    const owner = await registerApi(names.alice);
    ownerToken = owner.access_token;
    const g = await api('POST', '/guilds', { name: 'Hybrid Guild' }, ownerToken);
    const full = await api('GET', `/guilds/${g.id}`, undefined, ownerToken);
    channelId = full.channels.find((c) => c.kind === 'voice').id;
    invite = (await api('POST', `/guilds/${g.id}/invites`, {}, ownerToken)).code;
    const bobAuth = await registerApi(names.bob);
    await api('POST', `/invites/${invite}`, undefined, bobAuth.access_token);
    for (let i = 0; i < 6; i++) {
      const u = await registerApi(uniqueName(`hold${i}`));
      await api('POST', `/invites/${invite}`, undefined, u.access_token);
      holders.push(u);
    }
    for (const who of ['alice', 'bob']) {
      users[who] = await openUser(browser);
      await loginUi(users[who].page, names[who]);
      users[who].id = await myId(users[who].page);
    }
  });
  after(async () => {
    await browser?.close();
    if (bot) await bot.catch(() => null);
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('8 participants talk P2P; the 9th moves both browsers to the SFU with no audio gap over 200 ms; the channel stays SFU in the hysteresis window, then returns to P2P', async (t) => {
    const { alice, bob } = users;
    for (const u of [alice, bob]) {
      await u.page.getByRole('button', { name: 'Join voice' }).click();
      await u.page.getByRole('button', { name: 'Leave voice' }).waitFor();
    }
    for (const h of holders) await api('POST', `/voice/join/${channelId}`, {}, h.access_token);
    const states = await api('GET', `/voice/states/${channelId}`, undefined, ownerToken);
    assert.equal(states.length, 8);
    assert.equal((await api('GET', `/voice/mode/${channelId}`, undefined, ownerToken)).mode, 'p2p');
    assert.equal(await mode(alice.page), 'p2p');
    assert.equal(await mode(bob.page), 'p2p');
    await Promise.all([assertReceiving(alice.page, [bob.id], 'alice (p2p)'), assertReceiving(bob.page, [alice.id], 'bob (p2p)')]).catch(async (e) => {
      // Both sides' view of the pair, for a P2P pair that did not connect.
      for (const [name, u] of Object.entries(users)) {
        const d = await u.page.evaluate(() => ({ status: window.__hype.rtcService.getSnapshot().status, mode: window.__hype.rtcService.mode, log: window.__hype.store.logs.slice(-15) })).catch(() => null);
        t.diagnostic(`${name}: ${JSON.stringify(d)}`);
      }
      throw e;
    });

    // ---- the 9th participant: P2P -> SFU ----
    await startSampler(alice.page, bob.id);
    await startSampler(bob.page, alice.id);
    await sleep(1000);
    bot = runBots(server.url, ['--count', '1', '--speakers', '1', '--duration', '14', '--channel', channelId, '--invite', invite]);
    await until(async () => (await api('GET', `/voice/mode/${channelId}`, undefined, ownerToken)).mode === 'sfu', { timeout: 30_000, what: 'channel mode sfu after the 9th joined' });
    for (const [name, u] of Object.entries(users)) {
      await until(async () => (await mode(u.page)) === 'sfu', { timeout: 30_000, what: `${name} switched to the SFU` });
    }
    await sleep(2500); // past the cut-over and the mesh's linger
    const holes = {};
    for (const [name, u] of Object.entries(users)) {
      const samples = await stopSampler(u.page);
      holes[name] = worstHole(samples);
      const sw = await u.page.evaluate(() => window.__hype.rtcService.switches);
      t.diagnostic(`${name}: switch ${JSON.stringify(sw)}; worst hole ${JSON.stringify(holes[name])}`);
      assert.equal(holes[name].switches, 1, `${name}: one cut-over in the samples`);
      assert.ok(holes[name].samples > 50, `${name}: enough samples (${holes[name].samples})`);
      assert.ok(holes[name].maxMissing <= MAX_GAP_MS, `${name}: inbound audio gap ${holes[name].maxMissing} ms > ${MAX_GAP_MS} ms`);
      assert.ok(holes[name].maxConcealed <= MAX_GAP_MS, `${name}: ${holes[name].maxConcealed} ms concealed in one interval`);
      assert.equal(sw.length, 1);
      assert.equal(sw[0].reason, 'audio flows', `${name} cut over once the SFU carried the audio`);
    }
    // Both hear each other and the bot through the SFU.
    const botId = await until(async () => {
      const peers = await alice.page.evaluate(() => Object.keys(window.__hype.rtcService.getSnapshot().peers));
      return peers.find((p) => p !== bob.id);
    }, { timeout: 20_000, what: 'the bot heard through the SFU' });
    await assertReceiving(alice.page, [bob.id, botId], 'alice (sfu)');
    await assertReceiving(bob.page, [alice.id], 'bob (sfu)');
    // The mesh is gone after the linger.
    for (const u of [alice, bob]) assert.equal(await u.page.evaluate(() => window.__hype.rtcService.currentTransport.mode), 'sfu');

    // ---- the 9th leaves: 8 is above p2p_max_users - 2, so the channel stays on the SFU ----
    const { report } = await bot;
    bot = null;
    assert.deepEqual(report.errors, []);
    await until(async () => (await api('GET', `/voice/states/${channelId}`, undefined, ownerToken)).length === 8, { what: 'the bot left voice' });
    for (let i = 0; i < 6; i++) {
      assert.equal((await api('GET', `/voice/mode/${channelId}`, undefined, ownerToken)).mode, 'sfu', 'stays SFU with 8 participants');
      await sleep(500);
    }
    assert.equal(await mode(alice.page), 'sfu');

    // ---- down to 6 (p2p_max_users - 2) for sfu_return_delay: back to P2P ----
    await startSampler(alice.page, bob.id);
    await api('POST', `/voice/leave/${channelId}`, undefined, holders[0].access_token);
    await api('POST', `/voice/leave/${channelId}`, undefined, holders[1].access_token);
    const left = Date.now();
    for (const [name, u] of Object.entries(users)) {
      await until(async () => (await mode(u.page)) === 'p2p', { timeout: 40_000, what: `${name} back on P2P` });
    }
    assert.ok(Date.now() - left >= RETURN_DELAY_S * 1000 - 500, 'not before the return delay');
    await sleep(2500);
    const back = worstHole(await stopSampler(alice.page));
    t.diagnostic(`alice back to p2p: worst hole ${JSON.stringify(back)}`);
    assert.ok(back.maxMissing <= MAX_GAP_MS, `alice: inbound audio gap ${back.maxMissing} ms > ${MAX_GAP_MS} ms going back to P2P`);
    await assertReceiving(alice.page, [bob.id], 'alice (p2p again)');
    await assertReceiving(bob.page, [alice.id], 'bob (p2p again)');
    for (const u of [alice, bob]) await voiceRow(u.page, alice.id).waitFor();
  });
});
