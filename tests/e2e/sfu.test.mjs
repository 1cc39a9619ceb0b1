// SFU voice in real Chromium: the browser joins a voice channel of a server in SFU mode
// (its own `hype serve` with HYPE_VOICE_MODE=sfu, started here) where 3 hype-bots speak.
// Chromium's own WebRTC stack must: receive Opus from every bot (getStats, counters
// growing), send its microphone that every bot receives (hype-bot's JSON report), negotiate
// DTLS and SRTP with the SFU, keep the session and the audio through an ICE restart, and
// join again by itself when the /voice connection is lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, metricValue, myId, openUser, registerApi, setBase, sleep, uniqueName, until, voiceRow, voiceStats, assertReceiving, assertQualityReported } from './lib/browser.mjs';
import { startHype } from './lib/server.mjs';
import { botSkip, runBots } from './lib/bots.mjs';

const skip = botSkip;
const BOTS = 3;

/** DTLS/SRTP and the selected pair as Chromium's own stack reports them. */
function transportStats(page) {
  return page.evaluate(async () => {
    const pc = window.__hype.rtcService.currentTransport.pc;
    const r = await pc.getStats();
    const out = { transports: [], outbound: 0, localUfrag: null };
    r.forEach((s) => {
      if (s.type === 'transport') out.transports.push({ dtlsState: s.dtlsState, srtpCipher: s.srtpCipher, tlsVersion: s.tlsVersion, dtlsRole: s.dtlsRole, selectedCandidatePairChanges: s.selectedCandidatePairChanges });
      if (s.type === 'outbound-rtp' && s.kind === 'audio') out.outbound += s.packetsSent;
    });
    out.localUfrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription?.sdp ?? '')?.[1] ?? null;
    out.signaling = { ...window.__hype.rtcService.currentTransport.signaling.counts };
    out.connectionState = pc.connectionState;
    return out;
  });
}

describe('SFU voice in Chromium', { skip }, () => {
  let server;
  let browser;
  let user;
  let channelId;
  let invite;
  let bots;

  before(async () => {
    const sfuPort = 43000 + Math.floor(Math.random() * 2000);
    server = await startHype({ own: true, env: { HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(sfuPort) } });
    setBase(server.url);
    browser = await launch();
    const name = uniqueName('sfu');
    const owner = await registerApi(name);
    const g = await api('POST', '/guilds', { name: 'SFU Guild' }, owner.access_token);
    const full = await api('GET', `/guilds/${g.id}`, undefined, owner.access_token);
    channelId = full.channels.find((c) => c.kind === 'voice').id;
    invite = (await api('POST', `/guilds/${g.id}/invites`, {}, owner.access_token)).code;
    user = await openUser(browser);
    await loginUi(user.page, name);
    user.id = await myId(user.page);
  });
  after(async () => {
    await browser?.close();
    if (bots) await bots.catch(() => null);
    await server?.stop();
  });

  it('joins in SFU mode; hears 3 bots, they hear the browser; DTLS-SRTP by Chromium; ICE restart keeps audio; rejoins when /voice drops', async (t) => {
    const { page } = user;
    await page.getByRole('button', { name: 'Join voice' }).click();
    await page.getByRole('button', { name: 'Leave voice' }).waitFor();
    await until(() => page.evaluate(() => window.__hype.rtcService.getSnapshot().mode === 'sfu' && window.__hype.rtcService.getSnapshot().status === 'connected'), { what: 'sfu mode connected' });
    await until(async () => (await transportStats(page)).connectionState === 'connected', { what: 'peer connection to the SFU connected' });

    bots = runBots(server.url, ['--count', String(BOTS), '--speakers', String(BOTS), '--duration', '30', '--channel', channelId, '--invite', invite]);
    // The bots appear as voice members, then their audio arrives.
    const botIds = await until(
      async () => {
        const ids = await page.evaluate(() => Object.keys(window.__hype.rtcService.getSnapshot().peers));
        return ids.length === BOTS && ids;
      },
      { timeout: 30_000, what: `${BOTS} bot streams mapped to users` },
    );
    for (const id of botIds) await voiceRow(page, id).waitFor();
    const s1 = await assertReceiving(page, botIds, 'browser');
    for (const id of botIds) assert.equal(s1[id].codec, 'audio/opus');
    // What the browser hears reaches the server as a quality report on /voice (SFU).
    await assertQualityReported(page, 'browser (sfu)');

    const t1 = await transportStats(page);
    assert.equal(t1.transports.length, 1, 'one BUNDLEd transport');
    assert.equal(t1.transports[0].dtlsState, 'connected');
    assert.ok(t1.transports[0].srtpCipher, `srtpCipher: ${t1.transports[0].srtpCipher}`);
    assert.ok(t1.outbound > 0, 'the browser sends audio');
    t.diagnostic(`transport: ${JSON.stringify(t1.transports[0])}`);
    t.diagnostic(`inbound packets per bot: ${botIds.map((id) => s1[id].packetsReceived).join(', ')}`);

    // The SFU's speaking events and/or levels light the bots' indicators.
    await until(async () => {
      for (const id of botIds) if ((await voiceRow(page, id).getAttribute('data-speaking')) === 'true') return true;
      return false;
    }, { timeout: 15_000, interval: 100, what: 'a bot shown speaking' });

    // Same UI as P2P: the panel names the mode; mute stops the sent track, deafen silences playback.
    await page.locator('.voice-panel', { hasText: 'SFU' }).waitFor();
    const media = () =>
      page.evaluate(() => {
        const tr = window.__hype.rtcService.currentTransport;
        const sent = tr.pc.getSenders().find((x) => x.track?.kind === 'audio');
        const audios = [...tr.remotes.values()].map((r) => r.audio);
        return { sending: sent?.track?.enabled ?? null, played: audios.length, muted: audios.filter((a) => a.muted).length };
      });
    await page.getByRole('button', { name: 'Mute' }).click();
    await until(async () => (await media()).sending === false, { what: 'mute disables the sent track' });
    await page.getByRole('button', { name: 'Mute' }).click();
    await page.getByRole('button', { name: 'Deafen' }).click();
    await until(async () => {
      const m = await media();
      return m.played === BOTS && m.muted === BOTS;
    }, { what: 'deafen mutes every remote stream' });
    await page.getByRole('button', { name: 'Deafen' }).click();
    await until(async () => (await media()).muted === 0, { what: 'undeafen' });
    if ((await page.getByRole('button', { name: 'Mute' }).getAttribute('aria-pressed')) === 'true') await page.getByRole('button', { name: 'Mute' }).click();

    // ICE restart from the browser: new credentials, same session, audio keeps flowing.
    await page.evaluate(() => window.__hype.rtcService.currentTransport.restartIce());
    await until(async () => {
      const t = await transportStats(page);
      return t.localUfrag !== t1.localUfrag && t.signaling.offersSent >= 2 && t.connectionState === 'connected' && t;
    }, { what: 'ICE restart negotiated' });
    await sleep(1500);
    await assertReceiving(page, botIds, 'browser after ICE restart');
    const t2 = await transportStats(page);
    assert.equal(t2.transports[0].dtlsState, 'connected');
    assert.equal(t2.signaling.errors, 0, `signaling errors: ${JSON.stringify(t2.signaling)}`);
    assert.ok(t2.outbound > t1.outbound);
    t.diagnostic(`after ICE restart: ufrag ${t1.localUfrag} -> ${t2.localUfrag}, signaling ${JSON.stringify(t2.signaling)}`);

    // Losing the signaling connection ends the SFU session: the client joins again by itself.
    await page.evaluate(() => {
      window.__hypeOldTransport = window.__hype.rtcService.currentTransport;
      window.__hypeOldTransport.ws.close();
    });
    await until(() => page.evaluate(() => window.__hype.rtcService.currentTransport && window.__hype.rtcService.currentTransport !== window.__hypeOldTransport && window.__hype.rtcService.getSnapshot().status === 'connected'), { what: 'rejoined after losing /voice' });
    await assertReceiving(page, botIds, 'browser after rejoining');

    // Chromium sends its microphone as RED (the SFU answers red/48000/2 first; getStats still
    // names the primary, audio/opus); hype-bot accepts only Opus, so what it hears of the
    // browser was unwrapped by the SFU.
    const unwrapped = await metricValue("sfu_red_unwrapped_total");
    assert.ok(unwrapped > 100, `RED packets unwrapped for the bots: ${unwrapped}`);

    const { code, report } = await bots;
    bots = null;
    assert.deepEqual(report.errors, []);
    assert.equal(report.connected, BOTS);
    assert.equal(code, 0, JSON.stringify(report));
    const fromBrowser = report.packets_received_by_sender?.[user.id] ?? 0;
    // Every bot receives the browser: 30 s of Opus (or DTX) to 3 bots is well over 100 packets.
    assert.ok(fromBrowser > 100, `bots received ${fromBrowser} packets from the browser (${JSON.stringify(report.packets_received_by_sender)})`);
    assert.equal(report.bots_hearing_sender?.[user.id], BOTS, 'every bot hears the browser');
    for (const id of botIds) assert.ok(report.bot_user_ids.includes(id));
    t.diagnostic(`bots: sent ${report.packets_sent}, received ${report.packets_received} (from the browser ${fromBrowser}), loss ${report.loss_pct}%`);
  });
});

describe('Last-N in Chromium: more speakers than forwarded streams', { skip }, () => {
  let server;
  let browser;
  let bots;
  after(async () => {
    await browser?.close();
    if (bots) await bots.catch(() => null);
    await server?.stop();
  });

  it('with max_forwarded_speakers = 1 the browser receives one stream, yet shows all 3 speaking bots as speaking', async () => {
    const sfuPort = 43000 + Math.floor(Math.random() * 2000);
    server = await startHype({ own: true, env: { HYPE_VOICE_MODE: 'sfu', HYPE_VOICE_MAX_FORWARDED_SPEAKERS: '1', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(sfuPort) } });
    setBase(server.url);
    browser = await launch();
    const name = uniqueName('lastn');
    const owner = await registerApi(name);
    const g = await api('POST', '/guilds', { name: 'Last-N Guild' }, owner.access_token);
    const full = await api('GET', `/guilds/${g.id}`, undefined, owner.access_token);
    const channelId = full.channels.find((c) => c.kind === 'voice').id;
    const invite = (await api('POST', `/guilds/${g.id}/invites`, {}, owner.access_token)).code;
    const { page } = await openUser(browser);
    await loginUi(page, name);
    await page.evaluate(() => window.__hype.rtcService.setMute(true)); // a listener: the bots are the speakers
    await page.getByRole('button', { name: 'Join voice' }).click();
    await page.getByRole('button', { name: 'Leave voice' }).waitFor();
    bots = runBots(server.url, ['--count', '3', '--speakers', '3', '--continuous', '--level-step', '12', '--duration', '25', '--channel', channelId, '--invite', invite]);
    const botIds = await until(async () => {
      const st = await api('GET', `/voice/states/${channelId}`, undefined, owner.access_token);
      return st.length === 4 && st.map((s) => s.user_id).filter((u) => u !== owner.user.id);
    }, { timeout: 30_000, what: '3 bots in the channel' });
    // Every bot lights up at the same time, from the SFU's speaking events...
    await until(async () => {
      const rows = [];
      for (const id of botIds) rows.push(await voiceRow(page, id).getAttribute('data-speaking'));
      if (rows.every((r) => r === 'true')) return true;
      const diag = await page.evaluate(() => ({ speaking: window.__hype.rtcService.getSnapshot().speaking, sfu: window.__hype.rtcService.currentTransport?.sfuSpeaking }));
      throw new Error(`rows ${rows.join(',')}; ${JSON.stringify(diag)}`);
    }, { timeout: 20_000, interval: 100, what: 'all 3 bots shown speaking at once' });
    // ...while only one stream is received (measured after the loudest had time to take it).
    await sleep(1500);
    const media = await page.evaluate(async () => {
      const tr = window.__hype.rtcService.currentTransport;
      const { inbound } = await window.__hype.rtcService.playedInbound();
      return { slots: tr.signaling.slotMids.size, remotes: tr.remotes.size, heard: Object.keys(inbound) };
    });
    assert.equal(media.slots, 1, JSON.stringify(media));
    assert.equal(media.remotes, 1, JSON.stringify(media));
    assert.ok(media.heard.length <= 1, JSON.stringify(media));
    await assertReceiving(page, media.heard, 'browser (one slot)');
    const { report } = await bots;
    bots = null;
    assert.deepEqual(report.errors, []);
    // The slot carries the loudest bot: the first (--level-step makes each next one 12 dB
    // quieter, more than the 6 dB margin a speaker needs to take a held slot).
    assert.deepEqual(media.heard, [report.bot_user_ids[0]], `bots in order: ${report.bot_user_ids.join(', ')}`);
  });
});
