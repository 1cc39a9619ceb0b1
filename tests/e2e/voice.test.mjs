// P2P voice in real Chromium: two users join, Opus flows both ways (getStats), speaking
// indicators light from audio levels, mute is seen by the other side and silences the
// indicator, a third user makes a 3-way mesh, and leaving (button or closing the tab)
// updates everyone's UI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, myId, openUser, registerApi, sleep, uniqueName, until, voiceRow, voiceStats, assertReceiving, assertQualityReported } from './lib/browser.mjs';

describe('P2P voice', () => {
  let browser;
  const users = {};
  let guildId, voiceChannelId;

  before(async () => {
    browser = await launch();
    const names = { alice: uniqueName('va'), bob: uniqueName('vb'), carol: uniqueName('vc') };
    const owner = await registerApi(names.alice);
    const g = await api('POST', '/guilds', { name: 'Voice Guild' }, owner.access_token);
    guildId = g.id;
    const full = await api('GET', `/guilds/${guildId}`, undefined, owner.access_token);
    voiceChannelId = full.channels.find((c) => c.kind === 'voice').id;
    const invite = await api('POST', `/guilds/${guildId}/invites`, {}, owner.access_token);
    for (const who of ['bob', 'carol']) {
      const u = await registerApi(names[who]);
      await api('POST', `/invites/${invite.code}`, undefined, u.access_token);
    }
    for (const who of ['alice', 'bob', 'carol']) {
      users[who] = await openUser(browser);
      await loginUi(users[who].page, names[who]);
      users[who].id = await myId(users[who].page);
      users[who].name = names[who];
    }
  });
  after(async () => {
    await browser?.close();
  });

  it('two users join and receive each other’s Opus audio', async () => {
    const { alice, bob } = users;
    await alice.page.getByRole('button', { name: 'Join voice' }).click();
    await alice.page.getByRole('button', { name: 'Leave voice' }).waitFor();
    await bob.page.getByRole('button', { name: 'Join voice' }).click();
    await bob.page.getByRole('button', { name: 'Leave voice' }).waitFor();
    // Both appear in the voice channel on both screens.
    for (const p of [alice.page, bob.page]) {
      await voiceRow(p, alice.id).waitFor();
      await voiceRow(p, bob.id).waitFor();
    }
    const a = await assertReceiving(alice.page, [bob.id], 'alice');
    const b = await assertReceiving(bob.page, [alice.id], 'bob');
    // The negotiated Opus parameters include DTX and in-band FEC.
    assert.match(a[bob.id].codecFmtp ?? '', /usedtx=1/);
    assert.match(b[alice.id].codecFmtp ?? '', /useinbandfec=1/);
    // Exactly one side is polite.
    assert.notEqual(a[bob.id].polite, b[alice.id].polite);
    // The voice panel shows quality figures.
    await alice.page.locator('.peer-stats', { hasText: 'RTT' }).first().waitFor();
    // What alice hears reaches the server as a quality report on the gateway (P2P).
    await assertQualityReported(alice.page, 'alice (p2p)');
  });

  it('speaking indicators light from audio levels; mute turns them off', async () => {
    const { alice, bob } = users;
    await until(async () => (await voiceRow(alice.page, bob.id).getAttribute('data-speaking')) === 'true', { timeout: 20_000, interval: 50, what: 'bob speaking on alice’s screen' });
    await until(async () => (await voiceRow(bob.page, alice.id).getAttribute('data-speaking')) === 'true', { timeout: 20_000, interval: 50, what: 'alice speaking on bob’s screen' });

    await bob.page.getByRole('button', { name: 'Mute' }).click();
    assert.equal(await bob.page.getByRole('button', { name: 'Mute' }).getAttribute('aria-pressed'), 'true');
    // Alice sees the mute (VOICE_STATE_UPDATE) and the indicator stays off.
    await voiceRow(alice.page, bob.id).getByRole('img', { name: 'muted' }).waitFor();
    await sleep(600);
    for (let i = 0; i < 20; i++) {
      assert.equal(await voiceRow(alice.page, bob.id).getAttribute('data-speaking'), 'false', 'muted user never shows as speaking');
      await sleep(100);
    }
    // Bob's track is disabled, so what arrives is silence even before the state event.
    const s = await voiceStats(alice.page);
    assert.ok((s[bob.id].audioLevel ?? 0) < 0.01, `audio level while muted: ${s[bob.id].audioLevel}`);

    await bob.page.getByRole('button', { name: 'Mute' }).click();
    await until(async () => (await voiceRow(alice.page, bob.id).getByRole('img', { name: 'muted' }).count()) === 0, { what: 'unmute seen' });
    await until(async () => (await voiceRow(alice.page, bob.id).getAttribute('data-speaking')) === 'true', { timeout: 20_000, interval: 50, what: 'bob speaking again' });
  });

  it('survives an ICE restart and a gateway drop', async () => {
    const { alice, bob } = users;
    await alice.page.evaluate((peer) => window.__hype.rtcService.currentTransport.link(peer).restartIce(), bob.id);
    await until(async () => (await voiceStats(alice.page))[bob.id]?.iceRestarts === 1, { what: 'restart counted' });
    await sleep(1500);
    await assertReceiving(alice.page, [bob.id], 'alice after ICE restart');
    await assertReceiving(bob.page, [alice.id], 'bob after ICE restart');
    // Losing the gateway does not cut the media; the session resumes and signaling works again.
    await bob.page.evaluate(() => window.__hype.gateway.dropConnection());
    await assertReceiving(alice.page, [bob.id], 'alice while bob reconnects');
    await until(() => bob.page.evaluate(() => window.__hype.gateway.state.status === 'ready'), { what: 'bob resumed' });
    await bob.page.evaluate((peer) => window.__hype.rtcService.currentTransport.link(peer).restartIce(), alice.id);
    await sleep(1500);
    await assertReceiving(bob.page, [alice.id], 'bob after resume + ICE restart');
    await voiceRow(alice.page, bob.id).waitFor();
  });

  it('deafen is visible to others', async () => {
    const { alice, bob } = users;
    await alice.page.getByRole('button', { name: 'Deafen' }).click();
    await voiceRow(bob.page, alice.id).getByRole('img', { name: 'deafened' }).waitFor();
    await alice.page.getByRole('button', { name: 'Deafen' }).click();
    await until(async () => (await voiceRow(bob.page, alice.id).getByRole('img', { name: 'deafened' }).count()) === 0, { what: 'undeafen seen' });
    // Deafen also muted alice; unmute again for the next steps.
    if ((await alice.page.getByRole('button', { name: 'Mute' }).getAttribute('aria-pressed')) === 'true') await alice.page.getByRole('button', { name: 'Mute' }).click();
  });

  it('a third user joins: 3-way mesh', async () => {
    const { alice, bob, carol } = users;
    await carol.page.getByRole('button', { name: /General \(voice channel/ }).click();
    await carol.page.getByRole('button', { name: 'Leave voice' }).waitFor();
    await assertReceiving(carol.page, [alice.id, bob.id], 'carol');
    await assertReceiving(alice.page, [bob.id, carol.id], 'alice');
    await assertReceiving(bob.page, [alice.id, carol.id], 'bob');
    for (const p of [alice.page, bob.page, carol.page]) assert.equal(await p.locator('.voice-members li').count(), 3);
  });

  it('leaving updates the others; closing the tab cleans up too', async () => {
    const { alice, bob, carol } = users;
    await carol.page.getByRole('button', { name: 'Leave voice' }).click();
    await carol.page.getByRole('button', { name: 'Join voice' }).waitFor();
    for (const p of [alice.page, bob.page]) {
      await until(async () => (await voiceRow(p, carol.id).count()) === 0, { what: 'carol gone from the channel list' });
      await until(async () => !(await voiceStats(p))[carol.id], { what: 'carol’s peer connection closed' });
    }
    // Bob closes his tab: the pagehide handler leaves voice, alice's UI drops him.
    await bob.page.close({ runBeforeUnload: true });
    await until(async () => (await voiceRow(alice.page, bob.id).count()) === 0, { timeout: 30_000, what: 'bob gone after closing the tab' });
    await until(async () => Object.keys(await voiceStats(alice.page)).length === 0, { what: 'alice has no peers left' });
    await alice.page.getByRole('button', { name: 'Leave voice' }).click();
    const states = await api('GET', `/voice/states/${voiceChannelId}`, undefined, (await registerApi(uniqueName('probe'))).access_token).catch(() => []);
    assert.ok(Array.isArray(states));
  });
});
