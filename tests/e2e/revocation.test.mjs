// Access follows rights, in real Chromium: two browsers talk in a voice channel (once on the
// SFU, once peer to peer); the guild owner kicks the other one. Within a second the owner's
// browser stops receiving the kicked user's audio and no longer lists them, and the kicked
// browser leaves voice by itself and says why (it does not try to rejoin).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, myId, openUser, registerApi, setBase, sleep, uniqueName, until, voiceRow } from './lib/browser.mjs';
import { startHype } from './lib/server.mjs';

/** Audio packets this page has received from anyone, on the transport it plays. */
function inboundTotal(page) {
  return page.evaluate(async () => {
    const t = window.__hype.rtcService.currentTransport;
    if (!t) return 0;
    let n = 0;
    if (t.pc) {
      (await t.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.packetsReceived;
      });
    } else {
      for (const a of Object.values(await t.inbound())) n += a.packetsReceived;
    }
    return n;
  });
}

for (const mode of ['sfu', 'p2p']) {
  describe(`kicking a speaking user (${mode})`, () => {
    let server;
    let browser;
    let owner;
    let member;
    let guild;
    let channelId;

    before(async () => {
      server = await startHype({ own: true, env: { HYPE_VOICE_MODE: mode, HYPE_SFU_WORKERS: '1' } });
      setBase(server.url);
      browser = await launch();
      const ownerName = uniqueName('kicker');
      const memberName = uniqueName('kicked');
      owner = { auth: await registerApi(ownerName) };
      member = { auth: await registerApi(memberName) };
      guild = await api('POST', '/guilds', { name: `Kick ${mode}` }, owner.auth.access_token);
      const full = await api('GET', `/guilds/${guild.id}`, undefined, owner.auth.access_token);
      channelId = full.channels.find((c) => c.kind === 'voice').id;
      const invite = (await api('POST', `/guilds/${guild.id}/invites`, {}, owner.auth.access_token)).code;
      await api('POST', `/invites/${invite}`, undefined, member.auth.access_token);
      for (const [u, name] of [[owner, ownerName], [member, memberName]]) {
        Object.assign(u, await openUser(browser));
        await loginUi(u.page, name);
        u.id = await myId(u.page);
      }
    });
    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    it('the others stop hearing them within 1 s and the kicked browser shows it', async (t) => {
      const join = async (u) => {
        await u.page.getByRole('button', { name: 'Join voice' }).click();
        await until(() => u.page.evaluate((m) => {
          const s = window.__hype.rtcService.getSnapshot();
          return s.mode === m && s.status === 'connected';
        }, mode), { what: `${mode} voice connected` });
      };
      for (const u of [owner, member]) await join(u);
      // The owner hears the member: inbound audio grows. What this test is about starts after
      // that: a P2P pair that never links (a known, separate flake of the mesh, seen in
      // hybrid.test.mjs too) is set up again once, as a user would by leaving and rejoining.
      const hears = (timeout) => until(async () => (await inboundTotal(owner.page)) > 50 && inboundTotal(owner.page), { timeout, what: 'owner receives the member' });
      let first = await hears(15_000).catch(() => null);
      if (first === null) {
        t.diagnostic('the pair did not link within 15 s: the member leaves and joins again');
        await member.page.getByRole('button', { name: 'Leave voice' }).click();
        await join(member);
        first = await hears(30_000);
      }
      await voiceRow(owner.page, member.id).waitFor();

      const t0 = Date.now();
      await api('DELETE', `/guilds/${guild.id}/members/${member.id}`, undefined, owner.auth.access_token);
      await sleep(Math.max(0, 1000 - (Date.now() - t0)));
      const atOneSecond = await inboundTotal(owner.page);
      await sleep(1500);
      const later = await inboundTotal(owner.page);
      t.diagnostic(`owner inbound packets: ${first} before the kick, ${atOneSecond} at 1 s, ${later} at 2.5 s`);
      assert.ok(later <= atOneSecond, `the owner still received ${later - atOneSecond} packets more than 1 s after the kick`);
      assert.equal(await voiceRow(owner.page, member.id).count(), 0, 'the kicked user is still listed in the voice channel');

      // The kicked browser left voice and says why, and stays out (no rejoin).
      await member.page.getByRole('alert').filter({ hasText: 'no longer have access' }).waitFor({ timeout: 5000 });
      const snap = await member.page.evaluate(() => window.__hype.rtcService.getSnapshot());
      assert.equal(snap.channelId, null);
      assert.equal(await member.page.evaluate(() => window.__hype.rtcService.currentTransport), null);
      const states = await api('GET', `/voice/states/${channelId}`, undefined, owner.auth.access_token);
      assert.deepEqual(states.map((s) => s.user_id), [owner.id]);
    });
  });
}
