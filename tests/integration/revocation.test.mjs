// Access follows rights, end to end on a real `hype serve` with its SFU: whatever removes a
// right (leave, kick, channel deletion, CONNECT or SPEAK taken away) ends or restricts the
// media session within a second, and a voice token stops opening sessions once the voice
// state it was minted for is gone. Media comes from real hype-bot clients (ICE, DTLS, SRTP,
// Opus); the SFU's own counters show whether anything is still forwarded. Clients open the
// /voice WebSocket the join answer names, and counters are summed over every node.
// With HYPE_TEST_CLUSTER=1 (two nodes) every channel here is placed on the second node's SFU
// (its rtc_region is that node's region) while REST, and so the kick, leave, role change or
// deletion, goes to the first: each revocation crosses nodes, and "still forwarded" or "still
// has a session" is counted on both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import { startServer, api, sleep, register, HYPE_BIN, metricSum, nodesOf, voiceUrlOf } from './lib.mjs';

const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');
const botTest = { skip: !existsSync(BOT_BIN) && 'hype-bot not built' };
let server;

// In a two-node run the nodes are in regions rv-node-1 and rv-node-2; the channels here go to
// the second (FAR_REGION).
const FAR_REGION = 'rv-node-2';
before(async () => {
  server = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1' },
    { nodeEnv: [{ HYPE_SERVER_REGION: 'rv-node-1' }, { HYPE_SERVER_REGION: FAR_REGION }] });
});
// The /voice URL the channels' SFU must have: the second node's in a two-node run, else null.
const farVoiceUrl = () => (server.nodes ? nodesOf(server)[1].url.replace('http', 'ws') + '/voice' : null);
after(async () => { await server?.stop(); });

// A metric's value summed over its series and the server's nodes; `name` may include labels
// (`x{reason="muted"}`).
const metric = (name) => metricSum(server, name);

async function waitFor(pred, what, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await pred()) return; await sleep(50); }
  throw new Error(`timed out waiting for ${what}`);
}

// A guild with an owner, a second member and the voice channel; `states()` as the owner sees.
async function guildWithMember(prefix) {
  const owner = await register(server, prefix + 'o');
  const member = await register(server, prefix + 'm');
  const guild = (await api(server, 'POST', '/guilds', { token: owner.token, body: { name: prefix } })).body;
  const voice = (await api(server, 'GET', `/guilds/${guild.id}/channels`, { token: owner.token })).body.find((c) => c.kind === 'voice');
  const invite = (await api(server, 'POST', `/guilds/${guild.id}/invites`, { token: owner.token, body: {} })).body;
  assert.equal((await api(server, 'POST', `/invites/${invite.code}`, { token: member.token })).status, 200);
  if (farVoiceUrl()) {  // two nodes: the SFU is the node the REST calls do not go to
    const r = await api(server, 'PATCH', `/channels/${voice.id}`, { token: owner.token, body: { rtc_region: FAR_REGION } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const states = async () => (await api(server, 'GET', `/voice/states/${voice.id}`, { token: owner.token })).body;
  // The channel's SFU is the expected node (once someone is in voice).
  const onFarNode = async () => {
    if (!farVoiceUrl()) return;
    const node = (await api(server, 'GET', `/voice/sfu-node/${voice.id}`, { token: owner.token })).body.node;
    assert.equal(node.url, farVoiceUrl(), 'the channel is on the second node');
  };
  return { owner, member, guild, voice, invite, states, onFarNode };
}

// An identified /voice connection (signaling only) for `user` in `channel`, on the SFU the
// join answer names; `url` is kept, so a stale token is later tried on the node it was for.
async function identify(user, channelId) {
  const j = await api(server, 'POST', `/voice/join/${channelId}`, { token: user.token });
  assert.equal(j.status, 200, JSON.stringify(j.body));
  const url = voiceUrlOf(server, j.body);
  if (farVoiceUrl()) assert.equal(url, farVoiceUrl(), 'the channel is on the second node');
  return { token: j.body.voice_token, url, ...(await openVoice(url, j.body.voice_token, channelId)) };
}

async function openVoice(url, token, channelId) {
  const ws = new WebSocket(url);
  const frames = [];
  let closedAt = null;
  let code = null;
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  const onClose = new Promise((r) => ws.on('close', (c) => { code = c; closedAt = Date.now(); r(c); }));
  // The close code, or 'still open' after 5 s: a session that is never ended fails, not hangs.
  const closed = Promise.race([onClose, sleep(5000).then(() => 'still open')]);
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  ws.send(JSON.stringify({ op: 'identify', d: { token, channel_id: channelId } }));
  await waitFor(() => frames.some((f) => f.op === 'ready' || f.op === 'error') || code !== null, 'identify answer');
  return { ws, frames, closed, code: () => code, closedAt: () => closedAt };
}

test('a voice token no longer identifies after POST /voice/leave, and a rejoin mints a new one', async () => {
  const g = await guildWithMember('rv_leave');
  const s = await identify(g.member, g.voice.id);
  assert.ok(s.frames.some((f) => f.op === 'ready'));
  const t0 = Date.now();
  assert.equal((await api(server, 'POST', `/voice/leave/${g.voice.id}`, { token: g.member.token })).status, 204);
  assert.equal(await s.closed, 4006, 'the live session of a user who left is ended');
  assert.ok(s.closedAt() - t0 < 1000, `ended after ${s.closedAt() - t0} ms`);
  assert.equal(s.frames.find((f) => f.op === 'error')?.d.code, 'voice_state_ended');
  const again = await openVoice(s.url, s.token, g.voice.id);
  assert.equal(await again.closed, 4004, 'the old token identified after leave');
  assert.equal(again.frames.find((f) => f.op === 'error')?.d.code, 'auth_failed');
  // Joining anew works, and the token from before that stay still does not.
  const fresh = await identify(g.member, g.voice.id);
  assert.ok(fresh.frames.some((f) => f.op === 'ready'));
  const stale = await openVoice(s.url, s.token, g.voice.id);
  assert.equal(await stale.closed, 4004);
  fresh.ws.close();
});

test('deleting the voice channel ends its SFU sessions and their tokens', async () => {
  const g = await guildWithMember('rv_del');
  const owner = await identify(g.owner, g.voice.id);
  const member = await identify(g.member, g.voice.id);
  const t0 = Date.now();
  assert.equal((await api(server, 'DELETE', `/channels/${g.voice.id}`, { token: g.owner.token })).status, 204);
  assert.equal(await member.closed, 4006);
  assert.equal(await owner.closed, 4006);
  assert.ok(Math.max(member.closedAt(), owner.closedAt()) - t0 < 1000);
  const again = await openVoice(member.url, member.token, g.voice.id);
  assert.equal(await again.closed, 4004);
});

// Two hype-bots that talk without pause in the guild's voice channel, with nobody else in it;
// resolves once both are in voice and the SFU forwards their audio.
async function talkingBots(g) {
  const proc = spawn(BOT_BIN, ['--server', server.url, '--json', '--count', '2', '--speakers', '2', '--continuous',
    '--duration', '12', '--channel', g.voice.id, '--invite', g.invite.code], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise((r) => proc.once('exit', r));
  const stop = async () => { proc.kill('SIGTERM'); await exited; };
  try {
    await waitFor(async () => (await g.states()).length === 2, 'two bots in voice', 30000);
    await waitFor(async () => (await metric('sfu_forwarded_packets_total')) > 0, 'forwarding');
    await g.onFarNode();
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}

test('a kicked member is out of the SFU within a second: none of their media is forwarded, to or from them', botTest, async () => {
  const g = await guildWithMember('rv_kick');
  const bots = await talkingBots(g);
  try {
    // Media flows both ways before the kick.
    const f0 = await metric('sfu_forwarded_packets_total');
    await sleep(500);
    assert.ok((await metric('sfu_forwarded_packets_total')) > f0 + 20, 'media is flowing between the bots');

    const members = (await api(server, 'GET', `/guilds/${g.guild.id}/members`, { token: g.owner.token })).body;
    const inVoice = new Set((await g.states()).map((s) => s.user_id));
    const victim = members.find((m) => inVoice.has(m.user.id)).user.id;
    assert.equal((await api(server, 'DELETE', `/guilds/${g.guild.id}/members/${victim}`, { token: g.owner.token })).status, 204);
    await sleep(1000);
    // One participant left on the SFU: nothing may be forwarded any more, either way.
    assert.deepEqual((await g.states()).map((s) => s.user_id).includes(victim), false);
    assert.equal(await metric('sfu_active_voice_users'), 1, 'the kicked bot still has an SFU session');
    const f1 = await metric('sfu_forwarded_packets_total');
    await sleep(1500);
    const f2 = await metric('sfu_forwarded_packets_total');
    assert.equal(f2 - f1, 0, `${f2 - f1} packets forwarded after the kick`);
  } finally {
    await bots.stop();
  }
});

test('taking SPEAK away drops the user\'s audio in the SFU; CONNECT away ends the session', botTest, async () => {
  const g = await guildWithMember('rv_perm');
  const bots = await talkingBots(g);
  try {
    await sleep(500);
    const muted0 = await metric('sfu_dropped_packets_total{reason="muted"}');
    const everyone = (await api(server, 'GET', `/guilds/${g.guild.id}/roles`, { token: g.owner.token })).body.find((r) => r.id === g.guild.id);
    const perms = BigInt(everyone.permissions);
    const SPEAK = 1n << 3n;
    const CONNECT = 1n << 2n;
    let r = await api(server, 'PATCH', `/guilds/${g.guild.id}/roles/${g.guild.id}`, { token: g.owner.token, body: { permissions: String(perms & ~SPEAK) } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await sleep(1000);
    // Both bots are suppressed now (they are plain members): nothing is forwarded.
    for (const s of await g.states()) assert.equal(s.suppress, true);
    const f1 = await metric('sfu_forwarded_packets_total');
    await sleep(1000);
    assert.equal((await metric('sfu_forwarded_packets_total')) - f1, 0, 'audio of users without SPEAK was forwarded');
    assert.ok((await metric('sfu_dropped_packets_total{reason="muted"}')) > muted0, 'their packets are counted as dropped (muted)');

    r = await api(server, 'PATCH', `/guilds/${g.guild.id}/roles/${g.guild.id}`, { token: g.owner.token, body: { permissions: String(perms & ~CONNECT) } });
    assert.equal(r.status, 200);
    await sleep(1000);
    assert.deepEqual(await g.states(), []);
    assert.equal(await metric('sfu_active_voice_users'), 0, 'sessions without CONNECT are still on the SFU');
  } finally {
    await bots.stop();
  }
});
