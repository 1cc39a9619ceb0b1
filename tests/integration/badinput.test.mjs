import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { startServer, api, register, GatewayClient } from './lib.mjs';

let server, user, text;
before(async () => {
  server = await startServer({ HYPE_GATEWAY_MAX_FRAME_BYTES: '4096' });
  user = await register(server);
  const g = await api(server, 'POST', '/guilds', { token: user.token, body: { name: 'Bad input' } });
  text = (await api(server, 'GET', `/guilds/${g.body.id}/channels`, { token: user.token })).body.find((c) => c.kind === 'text');
});
after(async () => {
  // Whatever came before, the server is still serving.
  const health = await fetch(server.url + '/healthz');
  assert.equal(health.status, 200);
  assert.equal(server.proc.exitCode, null, 'server must not have crashed');
  await server.stop();
});

const post = (raw, headers = { 'content-type': 'application/json' }) =>
  api(server, 'POST', `/channels/${text.id}/messages`, { token: user.token, raw, headers });

test('malformed JSON gets invalid_json', async () => {
  for (const raw of ['{', '{"content": }', 'null', '[1,2', '"just a string"', '{"content":"x"}}']) {
    const r = await post(raw);
    assert.equal(r.status, 400, raw);
    assert.equal(r.body.error.code, 'invalid_json', raw);
  }
  const deep = '['.repeat(100) + ']'.repeat(100);
  assert.equal((await post(deep)).status, 400);
});

test('invalid UTF-8 is refused', async () => {
  const raw = Buffer.concat([Buffer.from('{"content":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  const r = await post(raw);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_utf8');
});

test('bodies over 1 MiB get 413', async () => {
  const big = JSON.stringify({ content: 'x'.repeat(1100 * 1024) });
  const r = await post(big);
  assert.equal(r.status, 413);
  assert.equal(r.body.error.code, 'payload_too_large');
});

test('field validation names the field', async () => {
  let r = await post(JSON.stringify({ content: 'x'.repeat(4001) }));
  assert.equal(r.status, 400);
  assert.equal(r.body.error.field, 'content');
  assert.equal((await post(JSON.stringify({ content: 'é'.repeat(4000) }))).status, 201, '4000 code points is fine');
  r = await post(JSON.stringify({ content: '   ' }));
  assert.equal(r.body.error.field, 'content');
  r = await post(JSON.stringify({ content: 5 }));
  assert.equal(r.body.error.field, 'content');
  r = await post(JSON.stringify({}));
  assert.equal(r.body.error.field, 'content');
  r = await api(server, 'POST', '/guilds', { token: user.token, body: { name: 'a\u0000b' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.field, 'name');
});

test('unknown routes, methods and ids', async () => {
  assert.equal((await api(server, 'GET', '/nope', { token: user.token })).status, 404);
  assert.equal((await api(server, 'PUT', '/guilds', { token: user.token })).status, 405);
  assert.equal((await api(server, 'GET', '/channels/abc/messages', { token: user.token })).status, 404);
  assert.equal((await api(server, 'GET', '/channels/99999999999999999999/messages', { token: user.token })).status, 404);
  assert.equal((await api(server, 'GET', '/channels/123/messages', { token: user.token })).status, 404);
});

test('errors never leak internals', async () => {
  const r = await post('{');
  const s = JSON.stringify(r.body).toLowerCase();
  for (const word of ['sql', 'select', 'exception', 'std::', 'boost']) assert.ok(!s.includes(word), word);
});

test('garbage on the HTTP socket gets 400 and the server keeps going', async () => {
  const reply = await new Promise((resolve) => {
    const sock = net.connect(new URL(server.url).port, '127.0.0.1', () => sock.write('BLAH \x00\x01\x02 nonsense\r\n\r\n'));
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('close', () => resolve(data));
    sock.on('error', () => resolve(data));
  });
  assert.match(reply, /^HTTP\/1\.1 400/);
});

test('gateway: bad frames close with the documented codes', async () => {
  const expectClose = async (frames, token = null) => {
    const c = new GatewayClient(server, token);
    await c.connect();
    for (const f of frames) c.send(f);
    return (await c.closed).code;
  };
  assert.equal(await expectClose(['not json']), 4002);
  assert.equal(await expectClose([JSON.stringify({ op: 'identify', d: { token: 'bad' } })]), 4004);
  assert.equal(await expectClose([JSON.stringify({ op: 'voice_signal', d: {} })]), 4003);
  assert.equal(await expectClose([JSON.stringify({ nope: 1 })]), 4002);
  const big = JSON.stringify({ op: 'heartbeat', d: 'x'.repeat(8000) });
  assert.equal(await expectClose([big]), 1009);
  const c = new GatewayClient(server, user.token);
  await c.connect();
  c.send({ op: 'frobnicate' });
  assert.equal((await c.closed).code, 4001);
  // Invalid UTF-8 in a text frame: the WebSocket layer refuses it (1007).
  const ws = new WebSocket(server.wsUrl);
  await new Promise((r) => ws.once('open', r));
  const closed = new Promise((r) => ws.once('close', (code) => r(code)));
  ws._socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]));
  assert.equal(await closed, 1007);
});

test('gateway: identify twice is refused, heartbeats are acknowledged', async () => {
  const c = new GatewayClient(server, user.token);
  await c.connect();
  c.send({ op: 'heartbeat' });
  await c.waitFor((f) => f.op === 'heartbeat_ack');
  c.send({ op: 'identify', d: { token: user.token } });
  assert.equal((await c.closed).code, 4005);
});
