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

// Run against PostgreSQL too (HYPE_TEST_DATABASE_URL): it refuses NUL and invalid UTF-8 in
// text with an error, which used to come back as 500.
test('NUL or invalid UTF-8 in a login or an invite path: 401/404, never 500', async () => {
  let r = await api(server, 'POST', '/auth/login', { body: { username: 'a\u0000b', password: 'whatever123' } });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'unauthorized');
  r = await api(server, 'POST', '/auth/login', { body: { username: user.username, password: 'correct horse\u0000' } });
  assert.equal(r.status, 401);
  for (const code of ['%00abc', '%FFabc', 'abc%00', '%C0%AF', '%ED%A0%80', 'a%0Ab']) {
    for (const method of ['GET', 'POST']) {
      r = await api(server, method, `/invites/${code}`, { token: user.token });
      assert.equal(r.status, 404, `${method} /invites/${code}`);
      assert.equal(r.body.error.code, 'not_found');
    }
  }
  for (const id of ['%00', '%FF', '1%00']) {
    assert.equal((await api(server, 'GET', `/guilds/${id}`, { token: user.token })).status, 404, id);
    assert.equal((await api(server, 'POST', `/voice/join/${id}`, { token: user.token })).status, 404, id);
  }
  assert.equal((await api(server, 'GET', `/channels/${text.id}/messages?before=%00`, { token: user.token })).status, 400);
  assert.equal((await api(server, 'GET', `/channels/${text.id}/messages?after=%FF`, { token: user.token })).status, 400);
});

test('a NUL in any JSON string is a 400 naming the field, before any store sees it', async () => {
  const g = await api(server, 'POST', '/guilds', { token: user.token, body: { name: 'Strings' } });
  const gid = g.body.id;
  const cases = [
    ['POST', '/auth/register', { username: 'nul\u0000name', password: 'whatever123' }, 'username'],
    ['POST', '/auth/register', { username: `okname${process.pid}`, password: 'whatever\u0000123' }, 'password'],
    ['POST', '/auth/refresh', { refresh_token: 'a\u0000b' }, 'refresh_token'],
    ['POST', '/guilds', { name: 'g\u0000' }, 'name'],
    ['PATCH', `/guilds/${gid}`, { name: 'g\u0000' }, 'name'],
    ['POST', `/guilds/${gid}/channels`, { name: 'c', kind: 'text\u0000' }, 'kind'],
    ['POST', `/guilds/${gid}/channels`, { name: 'c', topic: 't\u0000' }, 'topic'],
    ['PATCH', `/channels/${text.id}`, { topic: 't\u0000' }, 'topic'],
    ['POST', `/channels/${text.id}/messages`, { content: 'hi\u0000' }, 'content'],
    ['POST', `/channels/${text.id}/messages`, { content: 'hi', nonce: 'n\u0000' }, 'nonce'],
    ['POST', `/guilds/${gid}/roles`, { name: 'r\u0000' }, 'name'],
    ['POST', `/guilds/${gid}/roles`, { name: 'r', permissions: '1\u0000' }, 'permissions'],
    ['PUT', `/guilds/${gid}/members/${user.id}/roles`, { roles: ['1\u0000'] }, 'roles'],
  ];
  for (const [method, path, body, field] of cases) {
    const r = await api(server, method, path, { token: user.token, body });
    assert.equal(r.status, 400, `${method} ${path} ${field}`);
    assert.equal(r.body.error.code, 'invalid_string', `${method} ${path}`);
    assert.equal(r.body.error.field, field, `${method} ${path}`);
  }
  const r = await api(server, 'POST', '/guilds', { token: user.token, body: { name: 'ok', ['k\u0000']: 1 } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_string');
  // A lone surrogate escape cannot become UTF-8 text: refused as JSON.
  assert.equal((await post('{"content":"\\ud800"}')).status, 400);
});

test('content made only of Unicode spaces or invisible characters is refused', async () => {
  const blanks = ['\u3000', '\u00a0', '\u2028', '\u2029', '\u0085', '\u00a0 \u3000\n\u2003', '\u200b', '\u200b\u200d\ufeff', '\u3164', '\u2800', '\u180e', '\u2060\u202e'];
  for (const content of blanks) {
    const r = await post(JSON.stringify({ content }));
    assert.equal(r.status, 400, JSON.stringify(content));
    assert.equal(r.body.error.field, 'content', JSON.stringify(content));
  }
  const ok = await post(JSON.stringify({ content: '\u3000hi\u3000' }));
  assert.equal(ok.status, 201);
  const edit = await api(server, 'PATCH', `/channels/${text.id}/messages/${ok.body.id}`, { token: user.token, body: { content: '\u3000\u00a0' } });
  assert.equal(edit.status, 400);
  assert.equal(edit.body.error.field, 'content');
  const g = await api(server, 'POST', '/guilds', { token: user.token, body: { name: '\u3000\u3000' } });
  assert.equal(g.status, 400);
  assert.equal(g.body.error.field, 'name');
});
