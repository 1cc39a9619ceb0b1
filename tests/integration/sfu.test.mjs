// The SFU end to end: hype-bot (real ICE/DTLS/SRTP/Opus clients) through `hype serve`'s
// in-process SFU, and bad input on /voice and the media port. With HYPE_TEST_CLUSTER=1 the
// server is two nodes, each with its SFU: clients open the /voice WebSocket the join answer
// names (hype-bot does too), junk goes to every node's media ports, and SFU counters are
// summed over the nodes (a channel is on one of them, either).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import dgram from 'node:dgram';
import WebSocket from 'ws';
import { startServer, api, sleep, register, HYPE_BIN, promtoolCheck, metricSum, nodesOf, voiceUrlOf, clusterMode } from './lib.mjs';

const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');
const SFU_WORKERS = 2;
let SFU_PORTS;  // every UDP port of every node's SFU workers
let server;

before(async () => {
  // Last-N above the channel sizes used here: everyone hears everyone (exact counts).
  // A fixed UDP port pair (the tests send junk to it); another run on this machine may hold
  // the one picked at random, so try a few. Two nodes take consecutive pairs.
  const nodes = clusterMode() ? 2 : 1;
  for (let attempt = 0; ; attempt++) {
    const first = 42000 + Math.floor(Math.random() * 2000);
    SFU_PORTS = Array.from({ length: nodes * SFU_WORKERS }, (_, i) => first + i);
    const nodeEnv = Array.from({ length: nodes }, (_, i) => ({ HYPE_SFU_PORT: String(first + i * SFU_WORKERS) }));
    try {
      server = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: String(SFU_WORKERS), ...nodeEnv[0], HYPE_VOICE_MAX_FORWARDED_SPEAKERS: '16' }, { nodeEnv });
      break;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
});
after(async () => { await server?.stop(); });

function runBots(args, srv = server) {
  return new Promise((resolve, reject) => {
    execFile(BOT_BIN, ['--server', srv.url, '--json', ...args], { timeout: 120000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop();
      try { resolve({ code: err?.code ?? 0, report: JSON.parse(line), stderr }); } catch { reject(new Error(`bot failed: ${stderr} ${stdout}`)); }
    });
  });
}

// Summed over the series and the server's nodes.
const metric = (name, srv = server) => metricSum(srv, name);

test('10 bots in one channel: everyone hears every speaker, zero loss on loopback', { skip: !existsSync(BOT_BIN) && 'hype-bot not built' }, async () => {
  const { code, report } = await runBots(['--count', '10', '--speakers', '10', '--duration', '4']);
  assert.deepEqual(report.errors, []);
  assert.equal(code, 0);
  assert.equal(report.bots, 10);
  assert.equal(report.connected, 10);
  assert.equal(report.bots_hearing_every_speaker, 10);
  assert.ok(report.packets_sent > 10 * 100, `sent ${report.packets_sent}`);
  assert.equal(report.packets_received, report.packets_sent * 9);
  assert.equal(report.loss_pct, 0);
  assert.ok(report.latency_ms_p99 < 50, `p99 ${report.latency_ms_p99}`);
  assert.ok(await metric('sfu_forwarded_packets_total') >= report.packets_received);
  // The node whose SFU carried the channel (the only one in a single-node run).
  let text = '';
  for (const n of nodesOf(server)) {
    const t = await (await fetch(n.url + '/metrics')).text();
    if (await metric('sfu_forwarded_packets_total', n) >= report.packets_received) text = t;
  }
  assert.ok(text, 'one node forwarded every packet the bots received');
  for (const name of ['sfu_forwarded_packets_total', 'sfu_dropped_packets_total', 'sfu_worker_cpu_seconds_total'])
    assert.match(text, new RegExp(`# TYPE ${name} counter`), `${name} is a Prometheus counter`);
  assert.match(text, /# TYPE sfu_node_connections gauge/);
  const problems = promtoolCheck(text);  // after real traffic: every SFU series has a value
  if (problems !== undefined) assert.equal(problems, null, problems);
});

async function voiceSocket(url) {
  const ws = new WebSocket(url);
  const frames = [];
  let closed = null;
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  ws.on('close', (code) => { closed = code; });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  return { ws, frames, closed: async () => { for (let i = 0; i < 100 && closed === null; i++) await sleep(20); return closed; } };
}

test('bad voice tokens are refused and counted; garbage UDP is dropped and counted', async () => {
  const reg = async (name) => (await api(server, 'POST', '/auth/register', { body: { username: name, password: 'password123' } })).body;
  const a = await reg('sfu_bad_' + Date.now());
  const guild = (await api(server, 'POST', '/guilds', { token: a.access_token, body: { name: 'bad input' } })).body;
  const chans = (await api(server, 'GET', `/guilds/${guild.id}/channels`, { token: a.access_token })).body;
  const voice = chans.find((c) => c.kind === 'voice');
  const other = (await api(server, 'POST', `/guilds/${guild.id}/channels`, { token: a.access_token, body: { name: 'Other', kind: 'voice' } })).body;
  const join = (await api(server, 'POST', `/voice/join/${voice.id}`, { token: a.access_token })).body;
  // The /voice of this server (one of its nodes in a cluster).
  assert.ok(nodesOf(server).map((n) => n.url.replace('http', 'ws') + '/voice').includes(join.sfu.url), join.sfu.url);
  const url = voiceUrlOf(server, join);
  const before = await metric('sfu_rejected_tokens_total');

  const garbage = await voiceSocket(url);
  garbage.ws.send(JSON.stringify({ op: 'identify', d: { token: 'not.a.token' } }));
  assert.equal(await garbage.closed(), 4004);

  const wrongChannel = await voiceSocket(url);
  wrongChannel.ws.send(JSON.stringify({ op: 'identify', d: { token: join.voice_token, channel_id: other.id } }));
  assert.equal(await wrongChannel.closed(), 4004);

  const access = await voiceSocket(url);  // an access token is not a voice token
  access.ws.send(JSON.stringify({ op: 'identify', d: { token: a.access_token } }));
  assert.equal(await access.closed(), 4004);
  assert.equal(await metric('sfu_rejected_tokens_total'), before + 3);

  const ok = await voiceSocket(url);
  ok.ws.send(JSON.stringify({ op: 'identify', d: { token: join.voice_token, channel_id: voice.id } }));
  for (let i = 0; i < 50 && !ok.frames.some((f) => f.op === 'ready'); i++) await sleep(20);
  assert.equal(ok.frames.find((f) => f.op === 'ready').d.user_id, a.user.id);
  ok.ws.send(JSON.stringify({ op: 'offer', d: { sdp: 'v=0\r\ngarbage' } }));
  for (let i = 0; i < 50 && !ok.frames.some((f) => f.op === 'error'); i++) await sleep(20);
  assert.equal(ok.frames.find((f) => f.op === 'error').d.code, 'invalid_sdp');
  ok.ws.close();

  const dropped0 = await metric('sfu_dropped_packets_total');
  const sock = dgram.createSocket('udp4');
  const packets = [
    Buffer.from([0xff, 0x00, 0x01]),                                   // unknown kind
    Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]),     // truncated STUN
    Buffer.from([0x80, 0x6f, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 1, 1]),  // RTP from a stranger
    Buffer.from([0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1]),                 // RTCP from a stranger
    Buffer.from([0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),  // DTLS from a stranger
  ];
  for (const port of SFU_PORTS)
    for (const p of packets) await new Promise((r) => sock.send(p, port, '127.0.0.1', r));
  sock.close();
  const junk = packets.length * SFU_PORTS.length;
  let dropped = 0;
  for (let i = 0; i < 50 && dropped < dropped0 + junk; i++) { await sleep(20); dropped = await metric('sfu_dropped_packets_total'); }
  assert.equal(dropped, dropped0 + junk);
});

// A STUN Binding request with a USERNAME the SFU never issued (wrong ICE credentials) and a
// bogus MESSAGE-INTEGRITY.
function bogusStun() {
  const user = Buffer.from('nosuchufrag:peer');
  const pad = (4 - (user.length % 4)) % 4;
  const attrs = Buffer.concat([
    Buffer.from([0x00, 0x06, 0x00, user.length]), user, Buffer.alloc(pad),
    Buffer.from([0x00, 0x08, 0x00, 0x14]), Buffer.alloc(20, 0xab),
  ]);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt16BE(attrs.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  for (let i = 8; i < 20; i++) header[i] = Math.floor(Math.random() * 256);
  return Buffer.concat([header, attrs]);
}

test('under a flood of junk and wrong-credential packets every bot still hears everyone', { skip: !existsSync(BOT_BIN) && 'hype-bot not built' }, async () => {
  const dropped0 = await metric('sfu_dropped_packets_total');
  const sock = dgram.createSocket('udp4');
  let flooding = true;
  let sent = 0;
  const flood = (async () => {
    await sleep(300);
    while (flooding && sent < 20000) {
      const kind = sent % 4;
      let p;
      if (kind === 0) p = bogusStun();
      else if (kind === 1) p = Buffer.from([0x80, 0x6f, sent & 0xff, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, ...Buffer.alloc(40, 7)]);
      else if (kind === 2) p = Buffer.from([0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
      else p = Buffer.from(Array.from({ length: 1 + (sent % 200) }, () => Math.floor(Math.random() * 256)));
      for (const port of SFU_PORTS) sock.send(p, port, '127.0.0.1');
      sent++;
      if (sent % 50 === 0) await sleep(5);
    }
  })();
  const { code, report } = await runBots(['--count', '6', '--speakers', '6', '--duration', '4']);
  flooding = false;
  await flood;
  sock.close();
  assert.equal(code, 0);
  assert.deepEqual(report.errors, []);
  assert.equal(report.bots_hearing_every_speaker, 6);
  assert.equal(report.loss_pct, 0);
  assert.ok(sent > 500, `flood sent ${sent} packets`);
  assert.ok((await metric('sfu_dropped_packets_total')) >= dropped0 + sent, 'every junk packet was counted as dropped');
});

test('an expired voice token is refused', async () => {
  const short = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_VOICE_TOKEN_TTL: '10' });
  try {
    const u = (await api(short, 'POST', '/auth/register', { body: { username: 'sfu_exp_' + Date.now(), password: 'password123' } })).body;
    const guild = (await api(short, 'POST', '/guilds', { token: u.access_token, body: { name: 'expiry' } })).body;
    const voice = (await api(short, 'GET', `/guilds/${guild.id}/channels`, { token: u.access_token })).body.find((c) => c.kind === 'voice');
    const join = (await api(short, 'POST', `/voice/join/${voice.id}`, { token: u.access_token })).body;
    await sleep(11000);
    const ws = new WebSocket(join.sfu.url);
    const closed = new Promise((r) => ws.on('close', (c) => r(c)));
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    ws.send(JSON.stringify({ op: 'identify', d: { token: join.voice_token, channel_id: voice.id } }));
    assert.equal(await closed, 4004);
  } finally {
    await short.stop();
  }
});

const botTest = { skip: !existsSync(BOT_BIN) && 'hype-bot not built' };

test('last-N: with max_forwarded_speakers=2 every bot receives the 2 loudest other speakers, never more', botTest, async () => {
  const srv = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_VOICE_MAX_FORWARDED_SPEAKERS: '2' });
  try {
    // 6 bots, the first 4 talk without pauses, each 10 dB quieter than the one before.
    const { code, report } = await runBots(['--count', '6', '--speakers', '4', '--duration', '4', '--continuous', '--level-step', '10'], srv);
    assert.deepEqual(report.errors, []);
    assert.equal(code, 0);
    assert.equal(report.connected, 6);
    assert.equal(report.loss_pct, 0);
    assert.ok(report.max_streams_per_bot <= 2, `a bot received ${report.max_streams_per_bot} streams`);
    const ids = report.bot_user_ids;
    const [loud0, loud1, third] = ids;
    report.per_bot.forEach((b, i) => {
      assert.equal(b.audio_slots, 2, `bot ${i} has 2 audio slots`);
      const want = i === 0 ? [loud1, third] : i === 1 ? [loud0, third] : [loud0, loud1];
      assert.deepEqual([...b.heard_at_end].sort(), [...want].sort(), `bot ${i} hears the loudest others at the end`);
    });
    // The listeners (bots 4, 5) are never forwarded; the quietest speaker is dropped as not selected.
    assert.equal(report.bots_hearing_sender[ids[4]], undefined);
    assert.equal(report.bots_hearing_sender[ids[5]], undefined);
    assert.ok(await metric('sfu_dropped_not_selected_total', srv) > 0);
    const text = await (await fetch(srv.url + '/metrics')).text();
    assert.match(text, /# TYPE sfu_slot_switches_total counter/);
    assert.ok(report.join_ms_p50 > 0 && report.join_ms_p99 >= report.join_ms_p50, `join ${report.join_ms_p50}/${report.join_ms_p99}`);
  } finally {
    await srv.stop();
  }
});

// Starts hype-bot in the background; `report()` resolves with its JSON once it exits.
function startBots(args) {
  const proc = spawn(BOT_BIN, ['--server', server.url, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d.toString(); });
  proc.stderr.on('data', (d) => { err += d.toString(); });
  const exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    async report() {
      const code = await exited;
      try { return { code, report: JSON.parse(out.trim().split('\n').pop()) }; } catch { throw new Error(`bot output: ${out} ${err}`); }
    },
  };
}

async function channelForBots(prefix) {
  const owner = await register(server, prefix);
  const guild = (await api(server, 'POST', '/guilds', { token: owner.token, body: { name: prefix } })).body;
  const voice = (await api(server, 'GET', `/guilds/${guild.id}/channels`, { token: owner.token })).body.find((c) => c.kind === 'voice');
  const invite = (await api(server, 'POST', `/guilds/${guild.id}/invites`, { token: owner.token, body: {} })).body;
  const states = async () => (await api(server, 'GET', `/voice/states/${voice.id}`, { token: owner.token })).body;
  return { owner, voice, invite, states };
}

async function waitFor(pred, what) {
  for (let i = 0; i < 600; i++) { if (await pred()) return; await sleep(50); }
  throw new Error(`timed out waiting for ${what}`);
}

test('--hold keeps voice states in an existing channel (--channel + --invite) and leaves on SIGTERM', botTest, async () => {
  const ch = await channelForBots('hold');
  const bots = startBots(['--hold', '--count', '3', '--duration', '120', '--channel', ch.voice.id, '--invite', ch.invite.code]);
  await waitFor(async () => (await ch.states()).length === 3, '3 held voice states');
  bots.proc.kill('SIGTERM');
  const { code, report } = await bots.report();
  assert.equal(code, 0);
  assert.equal(report.mode, 'hold');
  assert.equal(report.held, 3);
  assert.equal(report.left, 3);
  assert.equal(report.signaled, true);
  assert.deepEqual(await ch.states(), []);
});

test('SIGINT during a media run: bots leave voice over REST and still print the report', botTest, async () => {
  const ch = await channelForBots('sigint');
  const bots = startBots(['--count', '2', '--speakers', '2', '--duration', '120', '--channel', ch.voice.id, '--invite', ch.invite.code]);
  await waitFor(async () => (await ch.states()).length === 2, '2 voice states');
  bots.proc.kill('SIGINT');
  const { report } = await bots.report();
  assert.equal(report.signaled, true);
  assert.equal(report.bots, 2);
  assert.deepEqual(await ch.states(), []);
});

// A second SFU given a UDP port this one's workers hold does not start: it would otherwise
// share the port (SO_REUSEADDR lets UDP sockets do that on Linux) and take some of the first
// one's packets.
test('an SFU whose UDP port is taken fails to start instead of sharing the port', { timeout: 30_000 }, async () => {
  const taken = SFU_PORTS[0];
  let second = null;
  const error = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(taken) }, { args: ['--roles', 'sfu'] })
    .then((s) => { second = s; return null; }, (e) => e);
  await second?.stop();
  assert.ok(error, `a second SFU started on UDP port ${taken}, which the first one holds`);
  assert.match(error.message, /in use/i);
});
