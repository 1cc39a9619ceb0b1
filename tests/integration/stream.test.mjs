// Screen share ("Go Live", issue 14) through the real server: REST go-live with its permission
// and channel checks, VOICE_STATE_UPDATE.self_stream and STREAM_UPDATE on other members'
// gateways, the SFU refusing a screen offer before go-live and ending the stream when STREAM is
// taken away. Signaling only (no media): the SFU records a stream when it accepts the offer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { startServer, api, register, GatewayClient, sleep } from './lib.mjs';

let server;
before(async () => { server = await startServer({ HYPE_VOICE_MODE: 'p2p' }); });
after(async () => { await server.stop(); });

const STREAM = 1n << 4n;

async function waitFor(pred, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function guildOf(n, prefix) {
  const users = [];
  for (let i = 0; i < n; i++) users.push(await register(server, prefix));
  const guild = (await api(server, 'POST', '/guilds', { token: users[0].token, body: { name: prefix } })).body;
  const inv = (await api(server, 'POST', `/guilds/${guild.id}/invites`, { token: users[0].token, body: {} })).body;
  for (const u of users.slice(1)) await api(server, 'POST', `/invites/${inv.code}`, { token: u.token });
  const voice = (await api(server, 'GET', `/guilds/${guild.id}/channels`, { token: users[0].token })).body.find((c) => c.kind === 'voice');
  return { users, guild, voice };
}

// An offer as a browser's stream connection makes it: recvonly video + audio to watch, and
// when sharing a sendonly VP8 video section with RTX.
function streamOffer(share) {
  const fp = 'sha-256 ' + Array.from(crypto.randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const ufrag = crypto.randomBytes(4).toString('hex');
  const pwd = crypto.randomBytes(16).toString('hex');
  const ssrc = 1000 + crypto.randomInt(1_000_000);
  const common = (mid, dir) => [`c=IN IP4 0.0.0.0`, `a=mid:${mid}`, `a=${dir}`, 'a=rtcp-mux', `a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, `a=fingerprint:${fp}`, 'a=setup:actpass'];
  const video = (mid, dir) => ['m=video 9 UDP/TLS/RTP/SAVPF 96 97', ...common(mid, dir), 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96'];
  const audio = (mid, dir) => ['m=audio 9 UDP/TLS/RTP/SAVPF 111', ...common(mid, dir), 'a=rtpmap:111 opus/48000/2'];
  const lines = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', `a=group:BUNDLE 0 1${share ? ' 2' : ''}`,
    ...video('0', 'recvonly'), ...audio('1', 'recvonly')];
  if (share) lines.push(...video('2', 'sendonly'), `a=ssrc-group:FID ${ssrc} ${ssrc + 1}`, `a=ssrc:${ssrc} cname:s`, `a=ssrc:${ssrc + 1} cname:s`);
  return lines.join('\r\n') + '\r\n';
}

// A stream connection (identify kind "stream") for `user`, already in `channelId`.
async function streamConnection(user, channelId, share) {
  const j = await api(server, 'POST', `/voice/join/${channelId}`, { token: user.token });
  assert.equal(j.status, 200, JSON.stringify(j.body));
  const ws = new WebSocket(j.body.sfu.url);
  const frames = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((r, e) => { ws.once('open', r); ws.once('error', e); });
  ws.send(JSON.stringify({ op: 'identify', d: { token: j.body.voice_token, channel_id: channelId, kind: 'stream' } }));
  await waitFor(() => frames.some((f) => f.op === 'ready'), 'ready');
  ws.send(JSON.stringify({ op: 'offer', d: { sdp: streamOffer(share) } }));
  await waitFor(() => frames.some((f) => f.op === 'answer'), 'answer');
  const send = (op, d) => ws.send(JSON.stringify({ op, d }));
  return { ws, frames, send, errors: () => frames.filter((f) => f.op === 'error').map((f) => f.d.code) };
}

test('go live needs the channel and STREAM; the state reaches other members', async () => {
  const { users: [a, b, c], guild, voice } = await guildOf(3, 'st_live');
  const gc = new GatewayClient(server, c.token);
  await gc.connect();
  let r = await api(server, 'POST', `/voice/stream/${voice.id}`, { token: a.token });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'not_in_channel');
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.token });
  r = await api(server, 'POST', `/voice/stream/${voice.id}`, { token: a.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.self_stream, true);
  const live = await gc.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === a.id && f.d.self_stream === true);
  assert.equal(live.d.channel_id, voice.id);
  r = await api(server, 'DELETE', `/voice/stream/${voice.id}`, { token: a.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.self_stream, false);
  await gc.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === a.id && f.d.self_stream === false);
  assert.equal((await api(server, 'DELETE', `/voice/stream/${voice.id}`, { token: a.token })).status, 204);
  // @everyone without STREAM: b cannot go live (the owner a still can).
  const everyone = (await api(server, 'GET', `/guilds/${guild.id}/roles`, { token: a.token })).body.find((x) => x.id === guild.id);
  const perms = BigInt(everyone.permissions);
  await api(server, 'PATCH', `/guilds/${guild.id}/roles/${guild.id}`, { token: a.token, body: { permissions: String(perms & ~STREAM) } });
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: b.token });
  r = await api(server, 'POST', `/voice/stream/${voice.id}`, { token: b.token });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'missing_permission');
  assert.match(r.body.error.message, /Stream permission/);
  await gc.close();
});

test('the SFU takes a screen only after go live, announces watchers, and ends it with STREAM', async () => {
  const { users: [a, b, c], guild, voice } = await guildOf(3, 'st_sfu');
  const gc = new GatewayClient(server, c.token);
  await gc.connect();
  // Not live yet: the screen section is refused.
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: b.token });
  const early = await streamConnection(b, voice.id, true);
  await waitFor(() => early.errors().includes('stream_denied'), 'stream_denied');
  early.ws.close();
  // Live: b's member gateway hears of the stream and of who watches it.
  const m = await api(server, 'POST', `/voice/stream/${voice.id}`, { token: b.token });
  assert.equal(m.status, 200);
  const s = await streamConnection(b, voice.id, true);
  const up = await gc.waitFor((f) => f.t === 'STREAM_UPDATE' && f.d.user_id === b.id && f.d.live === true);
  assert.equal(up.d.channel_id, voice.id);
  assert.equal(up.d.viewer_count, 0);
  await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.token });
  const w = await streamConnection(a, voice.id, false);
  w.send('watch', { user_id: b.id });
  const watched = await gc.waitFor((f) => f.t === 'STREAM_UPDATE' && f.d.user_id === b.id && f.d.viewer_count === 1);
  assert.deepEqual(watched.d.viewer_ids, [a.id]);
  await waitFor(() => w.frames.some((f) => f.op === 'offer' && f.d.streams.some((x) => x.source === 'screen' && x.user_id === b.id)), 'server offer with the stream');
  // STREAM taken from @everyone: b's stream ends on the SFU and on everyone's gateway.
  const everyone = (await api(server, 'GET', `/guilds/${guild.id}/roles`, { token: a.token })).body.find((x) => x.id === guild.id);
  const t0 = Date.now();
  await api(server, 'PATCH', `/guilds/${guild.id}/roles/${guild.id}`, { token: a.token, body: { permissions: String(BigInt(everyone.permissions) & ~STREAM) } });
  await gc.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === b.id && f.d.self_stream === false);
  await waitFor(() => s.errors().includes('stream_ended'), 'stream_ended');
  assert.ok(Date.now() - t0 < 1000, `stream ended after ${Date.now() - t0} ms`);
  await gc.waitFor((f) => f.t === 'STREAM_UPDATE' && f.d.user_id === b.id && f.d.live === false);
  await waitFor(() => w.frames.some((f) => f.op === 'streams' && f.d.streams.length === 0), 'empty streams event');
  s.ws.close();
  w.ws.close();
  await gc.close();
});
