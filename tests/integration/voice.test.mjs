import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, api, register, GatewayClient, sleep } from './lib.mjs';

const TURN_SECRET = 'integration-test-turn-secret';
let server;
before(async () => {
  server = await startServer({ HYPE_TURN_SECRET: TURN_SECRET, HYPE_TURN_URLS: 'turn:127.0.0.1:3478', HYPE_VOICE_P2P_MAX_USERS: '2' });
});
after(async () => { await server.stop(); });

async function guildWith(n, srv = server) {
  const server = srv;
  const users = [];
  for (let i = 0; i < n; i++) users.push(await register(server, 'v'));
  const g = await api(server, 'POST', '/guilds', { token: users[0].token, body: { name: 'Voice' } });
  const inv = await api(server, 'POST', `/guilds/${g.body.id}/invites`, { token: users[0].token, body: {} });
  for (const u of users.slice(1)) await api(server, 'POST', `/invites/${inv.body.code}`, { token: u.token });
  const chans = (await api(server, 'GET', `/guilds/${g.body.id}/channels`, { token: users[0].token })).body;
  return { users, guild: g.body, voice: chans.find((c) => c.kind === 'voice'), text: chans.find((c) => c.kind === 'text') };
}

test('join returns mode, participants, TURN credentials and a voice token', async () => {
  const { users: [a, b], voice } = await guildWith(2);
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  const j = await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.token, body: {} });
  assert.equal(j.status, 200);
  assert.equal(j.body.mode, 'p2p');
  assert.deepEqual(j.body.participants.map((p) => p.user_id), [a.id]);
  assert.equal(j.body.voice_token.split('.').length, 3);
  const turn = j.body.ice_servers.find((s) => s.urls.includes('turn:127.0.0.1:3478'));
  assert.ok(turn, 'TURN server offered');
  const [expiry, uid] = turn.username.split(':');
  assert.equal(uid, a.id);
  assert.ok(Number(expiry) > Date.now() / 1000);
  const expected = crypto.createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64');
  assert.equal(turn.credential, expected);
  const st = await gb.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === a.id);
  assert.equal(st.d.channel_id, voice.id);
  await gb.close();
});

test('voice signals relay only between users in the same channel', async () => {
  const { users: [a, b, c], voice } = await guildWith(3);
  const [ga, gb, gc] = [a, b, c].map((u) => new GatewayClient(server, u.token));
  await Promise.all([ga.connect(), gb.connect(), gc.connect()]);
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.token });
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: b.token });
  ga.send({ op: 'voice_signal', d: { to: b.id, payload: { type: 'offer', sdp: 'v=0...' } } });
  const sig = await gb.waitFor((f) => f.t === 'VOICE_SIGNAL');
  assert.equal(sig.d.from, a.id);
  assert.equal(sig.d.channel_id, voice.id);
  assert.deepEqual(sig.d.payload, { type: 'offer', sdp: 'v=0...' });
  // c is not in the channel: a's signal to c is refused, and c cannot signal a.
  ga.send({ op: 'voice_signal', d: { to: c.id, payload: {} } });
  assert.equal((await ga.waitFor((f) => f.op === 'error')).d.code, 'not_in_channel');
  gc.send({ op: 'voice_signal', d: { to: a.id, payload: {} } });
  assert.equal((await gc.waitFor((f) => f.op === 'error')).d.code, 'not_in_channel');
  assert.equal(ga.events('VOICE_SIGNAL').length, 0);
  await Promise.all([ga.close(), gb.close(), gc.close()]);
});

test('mute/deafen, mode switch past the threshold, leave', async () => {
  const { users: [a, b, c], voice } = await guildWith(3);
  const ga = new GatewayClient(server, a.token);
  await ga.connect();
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.token });
  assert.equal((await api(server, 'POST', `/voice/join/${voice.id}`, { token: b.token })).body.mode, 'p2p');
  // p2p_max_users=2 in this server: the third goes to the SFU.
  assert.equal((await api(server, 'POST', `/voice/join/${voice.id}`, { token: c.token })).body.mode, 'sfu');
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  gb.send({ op: 'voice_state_update', d: { self_mute: true, self_deaf: false } });
  const muted = await ga.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === b.id && f.d.self_mute);
  assert.equal(muted.d.self_deaf, false);
  const states = await api(server, 'GET', `/voice/states/${voice.id}`, { token: a.token });
  assert.equal(states.body.length, 3);
  assert.equal((await api(server, 'POST', `/voice/leave/${voice.id}`, { token: b.token })).status, 204);
  const left = await ga.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === b.id && f.d.channel_id === null);
  assert.equal(left.d.channel_id, null);
  assert.equal((await api(server, 'GET', `/voice/states/${voice.id}`, { token: a.token })).body.length, 2);
  const node = (await api(server, 'GET', `/voice/sfu-node/${voice.id}`, { token: a.token })).body.node;
  assert.ok(node && typeof node.id === 'string' && node.id.length > 0);
  assert.match(node.url, /^wss?:\/\/.+\/voice$/);
  await Promise.all([ga.close(), gb.close()]);
});

test('user_limit is enforced and text channels cannot be joined', async () => {
  const { users: [a, b, c], guild, text } = await guildWith(3);
  const small = await api(server, 'POST', `/guilds/${guild.id}/channels`, { token: a.token, body: { name: 'Duo', kind: 'voice', user_limit: 2 } });
  assert.equal((await api(server, 'POST', `/voice/join/${small.body.id}`, { token: a.token })).status, 200);
  assert.equal((await api(server, 'POST', `/voice/join/${small.body.id}`, { token: b.token })).status, 200);
  const full = await api(server, 'POST', `/voice/join/${small.body.id}`, { token: c.token });
  assert.equal(full.status, 403);
  assert.equal(full.body.error.code, 'channel_full');
  assert.equal((await api(server, 'POST', `/voice/join/${small.body.id}`, { token: a.token })).status, 200, 'rejoining your own channel is fine');
  assert.equal((await api(server, 'POST', `/voice/join/${text.id}`, { token: c.token })).status, 400);
  const outsider = await register(server);
  assert.equal((await api(server, 'POST', `/voice/join/${small.body.id}`, { token: outsider.token })).status, 404);
});

test('voice state is cleaned up when the gateway session ends', async () => {
  const { users: [a, b], voice } = await guildWith(2);
  const ga = new GatewayClient(server, a.token);
  await ga.connect();
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: b.token });
  await gb.terminate();
  // After the 15 s grace without a resume, b leaves voice.
  const left = await ga.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === b.id && f.d.channel_id === null, 25000);
  assert.equal(left.d.channel_id, null);
  await ga.close();
});

const modeUpdates = (g, channelId) => g.events('VOICE_MODE_UPDATE').filter((f) => f.d.channel_id === channelId).map((f) => f.d.mode);

test('VOICE_MODE_UPDATE: sfu past the threshold, stays sfu above threshold-2, p2p when empty', async () => {
  const { users: [a, b, c, d], guild, voice } = await guildWith(4);
  const gd = new GatewayClient(server, d.token); // a member watching, not in voice
  await gd.connect();
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.token });
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: b.token });
  assert.equal((await api(server, 'GET', `/voice/mode/${voice.id}`, { token: d.token })).body.mode, 'p2p');
  assert.equal((await api(server, 'POST', `/voice/join/${voice.id}`, { token: c.token })).body.mode, 'sfu');
  const up = await gd.waitFor((f) => f.t === 'VOICE_MODE_UPDATE' && f.d.channel_id === voice.id);
  assert.deepEqual(up.d, { guild_id: guild.id, channel_id: voice.id, mode: 'sfu' });
  assert.deepEqual(await api(server, 'GET', `/voice/mode/${voice.id}`, { token: d.token }).then((r) => r.body), { channel_id: voice.id, mode: 'sfu' });
  // p2p_max_users=2: 2 users is above threshold-2 = 0, the channel stays on the SFU.
  await api(server, 'POST', `/voice/leave/${voice.id}`, { token: c.token });
  await gd.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === c.id && f.d.channel_id === null);
  assert.equal((await api(server, 'POST', `/voice/join/${voice.id}`, { token: c.token })).body.mode, 'sfu', 'no flapping');
  await api(server, 'POST', `/voice/leave/${voice.id}`, { token: c.token });
  await sleep(1200);
  assert.deepEqual(modeUpdates(gd, voice.id), ['sfu']);
  assert.equal((await api(server, 'GET', `/voice/mode/${voice.id}`, { token: d.token })).body.mode, 'sfu');
  // Empty: back to p2p at once.
  await api(server, 'POST', `/voice/leave/${voice.id}`, { token: a.token });
  await api(server, 'POST', `/voice/leave/${voice.id}`, { token: b.token });
  await gd.waitFor((f) => f.t === 'VOICE_MODE_UPDATE' && f.d.channel_id === voice.id && f.d.mode === 'p2p');
  assert.deepEqual(modeUpdates(gd, voice.id), ['sfu', 'p2p']);
  assert.equal((await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.token })).body.mode, 'p2p');
  await gd.close();
});

test('VOICE_MODE_UPDATE p2p only after sfu_return_delay at or below threshold-2', async () => {
  const srv = await startServer({ HYPE_VOICE_P2P_MAX_USERS: '3', HYPE_VOICE_SFU_RETURN_DELAY: '1' });
  try {
    const { users, voice } = await guildWith(5, srv);
    const watcher = new GatewayClient(srv, users[4].token);
    await watcher.connect();
    const modes = [];
    for (const u of users.slice(0, 4)) modes.push((await api(srv, 'POST', `/voice/join/${voice.id}`, { token: u.token })).body.mode);
    assert.deepEqual(modes, ['p2p', 'p2p', 'p2p', 'sfu']);
    await watcher.waitFor((f) => f.t === 'VOICE_MODE_UPDATE' && f.d.mode === 'sfu');
    // Down to 2: above threshold-2 = 1, no return however long it stays there.
    await api(srv, 'POST', `/voice/leave/${voice.id}`, { token: users[3].token });
    await api(srv, 'POST', `/voice/leave/${voice.id}`, { token: users[2].token });
    await sleep(1600);
    assert.deepEqual(modeUpdates(watcher, voice.id), ['sfu']);
    // Down to 1: back to p2p after 1 s, not before.
    const t0 = Date.now();
    await api(srv, 'POST', `/voice/leave/${voice.id}`, { token: users[1].token });
    await sleep(600);
    assert.deepEqual(modeUpdates(watcher, voice.id), ['sfu'], 'not before the delay');
    assert.equal((await api(srv, 'GET', `/voice/mode/${voice.id}`, { token: users[4].token })).body.mode, 'sfu');
    const back = await watcher.waitFor((f) => f.t === 'VOICE_MODE_UPDATE' && f.d.mode === 'p2p', 4000);
    assert.equal(back.d.channel_id, voice.id);
    assert.ok(Date.now() - t0 >= 1000, `returned after ${Date.now() - t0} ms`);
    assert.deepEqual(modeUpdates(watcher, voice.id), ['sfu', 'p2p']);
    assert.equal((await api(srv, 'POST', `/voice/join/${voice.id}`, { token: users[1].token })).body.mode, 'p2p');
    await watcher.close();
  } finally {
    await srv.stop();
  }
});
