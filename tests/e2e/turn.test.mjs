// TURN-only voice: both clients set iceTransportPolicy 'relay' (localStorage
// 'hype.forceRelay'='1'), so audio can only flow through coturn with the REST credentials
// the API hands out in /voice/join. run.sh starts coturn and passes HYPE_TURN_* to the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, myId, openUser, registerApi, sleep, uniqueName, until, voiceStats } from './lib/browser.mjs';

const TURN = process.env.HYPE_E2E_TURN;

describe('voice through TURN only', { skip: !TURN && 'coturn not started (HYPE_E2E_TURN unset)' }, () => {
  let browser;
  const u = {};
  before(async () => {
    browser = await launch();
    const a = uniqueName('ta');
    const b = uniqueName('tb');
    const owner = await registerApi(a);
    const g = await api('POST', '/guilds', { name: 'Relay Guild' }, owner.access_token);
    const inv = await api('POST', `/guilds/${g.id}/invites`, {}, owner.access_token);
    const other = await registerApi(b);
    await api('POST', `/invites/${inv.code}`, undefined, other.access_token);
    const join = await api('POST', `/voice/join/${(await api('GET', `/guilds/${g.id}`, undefined, owner.access_token)).channels.find((c) => c.kind === 'voice').id}`, {}, owner.access_token);
    u.iceServers = join.ice_servers;
    await api('POST', `/voice/leave/${join.channel_id}`, undefined, owner.access_token);
    for (const [k, name] of [['a', a], ['b', b]]) {
      u[k] = await openUser(browser, { forceRelay: true });
      await loginUi(u[k].page, name);
      u[k].id = await myId(u[k].page);
    }
  });
  after(async () => {
    await browser?.close();
  });

  it('the API hands out TURN REST credentials', () => {
    const turn = u.iceServers.find((s) => [].concat(s.urls).some((x) => x.startsWith('turn:')));
    assert.ok(turn, `ice_servers has a TURN entry: ${JSON.stringify(u.iceServers)}`);
    assert.match(turn.username, /^\d+:\d+$/);
    assert.ok(turn.credential.length > 10);
  });

  it('audio flows over relay candidates only', async () => {
    await u.a.page.getByRole('button', { name: 'Join voice' }).click();
    await u.b.page.getByRole('button', { name: 'Join voice' }).click();
    for (const [me, other] of [[u.a, u.b], [u.b, u.a]]) {
      const s1 = await until(
        async () => {
          const s = await voiceStats(me.page);
          return s[other.id]?.packetsReceived > 0 && s;
        },
        { timeout: 40_000, what: 'inbound audio over TURN' },
      );
      assert.equal(s1[other.id].localCandidateType, 'relay');
      await sleep(1500);
      const s2 = await voiceStats(me.page);
      assert.ok(s2[other.id].packetsReceived > s1[other.id].packetsReceived, 'packets keep arriving through the relay');
      assert.equal(s2[other.id].codec, 'audio/opus');
    }
  });
});
