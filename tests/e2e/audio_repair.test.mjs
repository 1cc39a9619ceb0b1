// Audio repair on a lossy link in real Chromium (issue 19 item 3): the browser reaches the SFU
// through hype-netlab losing 5 % each way. Chromium sends RED (the SFU answers it first) and
// NACK on Opus (the web client offers it): the SFU asks the browser again for microphone
// packets it lost and Chromium retransmits them (its outbound retransmittedPacketsSent);
// hype-bot listeners, which take plain Opus, get the lost packets the SFU rebuilt from RED;
// the browser NACKs what it lost of the bots and the SFU answers from its cache.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, metricValue, myId, openUser, registerApi, setBase, uniqueName, until } from './lib/browser.mjs';
import { startHype } from './lib/server.mjs';
import { botSkip, runBots } from './lib/bots.mjs';
import { freeUdpPort, netlabSkip, startRelay } from './lib/netlab.mjs';

const skip = botSkip || netlabSkip;

/** Chromium's own audio counters: what it retransmitted, NACKed and concealed. */
function audioStats(page) {
  return page.evaluate(async () => {
    const r = await window.__hype.rtcService.currentTransport.pc.getStats();
    const out = { retransmitted: 0, sent: 0, nackCount: 0, received: 0, lost: 0 };
    r.forEach((s) => {
      if (s.kind !== 'audio') return;
      if (s.type === 'outbound-rtp') {
        out.retransmitted += s.retransmittedPacketsSent ?? 0;
        out.sent += s.packetsSent ?? 0;
      }
      if (s.type === 'inbound-rtp') {
        out.nackCount += s.nackCount ?? 0;
        out.received += s.packetsReceived ?? 0;
        out.lost += s.packetsLost ?? 0;
      }
    });
    return out;
  });
}

describe('Audio repair through a lossy link', { skip }, () => {
  let server;
  let relay;
  let browser;
  let bots;

  before(async () => {
    const sfuPort = await freeUdpPort();
    const relayPort = await freeUdpPort([sfuPort]);
    relay = await startRelay({ listen: relayPort, upstream: sfuPort, up: 'clean,loss=0.05', seed: 11 });
    server = await startHype({ own: true, env: { HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(sfuPort), HYPE_SFU_ANNOUNCED_PORT: String(relayPort) } });
    setBase(server.url);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    if (bots) await bots.catch(() => null);
    await server?.stop();
    await relay?.stop();
  });

  it('the SFU NACKs the browser and Chromium retransmits; bots get RED-rebuilt audio; the SFU answers the browser\'s NACKs', async (t) => {
    const name = uniqueName('repair');
    const owner = await registerApi(name);
    const g = await api('POST', '/guilds', { name: 'Repair Guild' }, owner.access_token);
    const full = await api('GET', `/guilds/${g.id}`, undefined, owner.access_token);
    const channelId = full.channels.find((c) => c.kind === 'voice').id;
    const invite = (await api('POST', `/guilds/${g.id}/invites`, {}, owner.access_token)).code;
    const { page } = await openUser(browser);
    await loginUi(page, name);
    const me = await myId(page);
    await page.getByRole('button', { name: 'Join voice' }).click();
    await until(() => page.evaluate(() => window.__hype.rtcService.getSnapshot().mode === 'sfu' && window.__hype.rtcService.getSnapshot().status === 'connected'), { what: 'sfu mode connected' });
    const local = await page.evaluate(() => window.__hype.rtcService.currentTransport.pc.localDescription.sdp);
    assert.match(local, /a=rtcp-fb:111 nack/, 'the web client offers NACK on Opus');

    bots = runBots(server.url, ['--count', '2', '--speakers', '2', '--continuous', '--duration', '20', '--channel', channelId, '--invite', invite]);
    // Lossy both ways: wait until every repair path has been used at least once.
    const seen = await until(
      async () => {
        const s = await audioStats(page);
        const m = {
          nacksSent: await metricValue('sfu_nacks_sent_total'),
          recovered: await metricValue('sfu_red_recovered_total'),
          nackHits: await metricValue('sfu_nack_hits_total'),
        };
        if (m.nacksSent > 0 && s.retransmitted > 0 && m.recovered > 0 && s.nackCount > 0 && m.nackHits > 0) return { ...s, ...m };
        if (s.sent > 1000) throw new Error(`not every repair path was used: ${JSON.stringify({ ...s, ...m })}`);
        return false;
      },
      { timeout: 40_000, interval: 500, what: 'NACK, retransmission and RED recovery on the lossy link' },
    );
    t.diagnostic(`after ${seen.sent} packets sent: SFU NACKed ${seen.nacksSent}, Chromium retransmitted ${seen.retransmitted}; rebuilt from RED ${seen.recovered}; browser NACKed ${seen.nackCount}, SFU answered ${seen.nackHits}`);
    const { report } = await bots;
    bots = null;
    assert.deepEqual(report.errors, []);
    assert.equal(report.bots_hearing_sender?.[me], 2, 'both bots hear the browser');
    const final = await relay.stop();
    relay = null;
    t.diagnostic(`relay: ${JSON.stringify(final?.up ?? final)}`);
  });
});
