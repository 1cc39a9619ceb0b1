// The SFU end to end: hype-bot (real ICE/DTLS/SRTP/Opus clients) through `hype serve`'s
// in-process SFU, and bad input on /voice and the media port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import dgram from 'node:dgram';
import WebSocket from 'ws';
import { startServer, api, sleep, HYPE_BIN } from './lib.mjs';

const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');
const SFU_PORT = 42000 + Math.floor(Math.random() * 2000);
let server;

before(async () => {
  server = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '2', HYPE_SFU_PORT: String(SFU_PORT) });
});
after(async () => { await server?.stop(); });

function runBots(args) {
  return new Promise((resolve, reject) => {
    execFile(BOT_BIN, ['--server', server.url, '--json', ...args], { timeout: 120000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop();
      try { resolve({ code: err?.code ?? 0, report: JSON.parse(line), stderr }); } catch { reject(new Error(`bot failed: ${stderr} ${stdout}`)); }
    });
  });
}

async function metric(name) {
  const text = await (await fetch(server.url + '/metrics')).text();
  let sum = 0;
  for (const l of text.split('\n')) if (l.startsWith(name + ' ') || l.startsWith(name + '{')) sum += Number(l.split(' ').pop());
  return sum;
}

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
});

async function voiceSocket() {
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/voice');
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
  assert.equal(join.sfu.url, server.url.replace('http', 'ws') + '/voice');
  const before = await metric('sfu_rejected_tokens_total');

  const garbage = await voiceSocket();
  garbage.ws.send(JSON.stringify({ op: 'identify', d: { token: 'not.a.token' } }));
  assert.equal(await garbage.closed(), 4004);

  const wrongChannel = await voiceSocket();
  wrongChannel.ws.send(JSON.stringify({ op: 'identify', d: { token: join.voice_token, channel_id: other.id } }));
  assert.equal(await wrongChannel.closed(), 4004);

  const access = await voiceSocket();  // an access token is not a voice token
  access.ws.send(JSON.stringify({ op: 'identify', d: { token: a.access_token } }));
  assert.equal(await access.closed(), 4004);
  assert.equal(await metric('sfu_rejected_tokens_total'), before + 3);

  const ok = await voiceSocket();
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
  for (let port = SFU_PORT; port < SFU_PORT + 2; port++)
    for (const p of packets) await new Promise((r) => sock.send(p, port, '127.0.0.1', r));
  sock.close();
  let dropped = 0;
  for (let i = 0; i < 50 && dropped < dropped0 + 10; i++) { await sleep(20); dropped = await metric('sfu_dropped_packets_total'); }
  assert.equal(dropped, dropped0 + 10);
});
