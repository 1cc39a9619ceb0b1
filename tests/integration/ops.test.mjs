import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { startServer, api, register, GatewayClient, HYPE_BIN, sleep, promtoolCheck } from './lib.mjs';

test('metrics expose requests, messages, gateway and voice gauges', async () => {
  const server = await startServer();
  try {
    const u = await register(server);
    const g = await api(server, 'POST', '/guilds', { token: u.token, body: { name: 'Metrics' } });
    const text = (await api(server, 'GET', `/guilds/${g.body.id}/channels`, { token: u.token })).body[0];
    await api(server, 'POST', `/channels/${text.id}/messages`, { token: u.token, body: { content: 'count me' } });
    const gw = new GatewayClient(server, u.token);
    await gw.connect();
    const m = await (await fetch(server.url + '/metrics')).text();
    assert.match(m, /http_requests_total\{method="POST",route="\/api\/v1\/auth\/register",status="201"\} 1/);
    assert.match(m, /messages_created_total 1/);
    assert.match(m, /gateway_connections 1/);
    assert.match(m, /http_request_duration_seconds_bucket\{route="\/api\/v1\/guilds",le="\+Inf"\}/);
    assert.match(m, /voice_active_users 0/);
    assert.match(m, /voice_active_channels 0/);
    // Every SFU row of the counter table is exposed (registered from kSfuMetrics).
    for (const name of ['sfu_node_connections', 'sfu_connected_transports', 'sfu_received_bytes_total',
      'sfu_sent_packets_total', 'sfu_sent_bytes_total', 'sfu_rejected_tokens_total'])
      assert.match(m, new RegExp(`^${name} 0$`, 'm'));
    assert.match(m, /^sfu_dropped_packets_total\{reason="unknown_peer"\} 0$/m);
    assert.match(m, /^sfu_worker_cpu_seconds_total\{worker="0"\} /m);
    await gw.close();
    const ready = await fetch(server.url + '/readyz');
    assert.equal(ready.status, 200);
  } finally {
    await server.stop();
  }
});

test('a real /metrics scrape passes promtool check metrics', async (t) => {
  const server = await startServer();
  try {
    const u = await register(server);
    await api(server, 'POST', '/guilds', { token: u.token, body: { name: 'Lint' } });
    await api(server, 'GET', '/nope', { token: u.token });
    const gw = new GatewayClient(server, u.token);
    await gw.connect();
    const m = await (await fetch(server.url + '/metrics')).text();
    await gw.close();
    const problems = promtoolCheck(m);
    if (problems === undefined) return t.skip('promtool not installed (Debian package prometheus; scripts/bootstrap)');
    assert.equal(problems, null, problems);
  } finally {
    await server.stop();
  }
});

test('rate limits answer 429 with Retry-After', async () => {
  const server = await startServer({ HYPE_LIMITS_ENABLED: 'true', HYPE_LIMITS_AUTH: '3/60s', HYPE_LIMITS_MESSAGES: '2/60s' });
  try {
    const codes = [];
    for (let i = 0; i < 5; i++)
      codes.push((await api(server, 'POST', '/auth/login', { body: { username: 'x' + i, password: 'whatever1' } })).status);
    assert.deepEqual(codes.slice(0, 3), [401, 401, 401]);
    const limited = await api(server, 'POST', '/auth/login', { body: { username: 'y', password: 'whatever1' } });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  } finally {
    await server.stop();
  }
});

test('per-user message budget', async () => {
  const server = await startServer({ HYPE_LIMITS_ENABLED: 'true', HYPE_LIMITS_AUTH: '100/1s', HYPE_LIMITS_MESSAGES: '2/60s' });
  try {
    const u = await register(server);
    const g = await api(server, 'POST', '/guilds', { token: u.token, body: { name: 'Limits' } });
    const text = (await api(server, 'GET', `/guilds/${g.body.id}/channels`, { token: u.token })).body[0];
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await api(server, 'POST', `/channels/${text.id}/messages`, { token: u.token, body: { content: 'hi' } })).status);
    assert.deepEqual(codes, [201, 201, 429]);
  } finally {
    await server.stop();
  }
});

test('a slow gateway reader is closed with 4010 instead of growing memory', async () => {
  const server = await startServer({ HYPE_GATEWAY_MAX_SEND_QUEUE: '20' });
  try {
    const u = await register(server);
    const g = await api(server, 'POST', '/guilds', { token: u.token, body: { name: 'Slow' } });
    const text = (await api(server, 'GET', `/guilds/${g.body.id}/channels`, { token: u.token })).body[0];
    const slow = new GatewayClient(server, u.token);
    await slow.connect();
    slow.ws._socket.pause();  // stop reading: the kernel buffers fill, then our queue
    const body = { content: 'y'.repeat(3900) };
    let closedCode = null;
    slow.closed.then((c) => { closedCode = c.code; });
    for (let i = 0; i < 3000 && closedCode === null; i++) {
      await api(server, 'POST', `/channels/${text.id}/messages`, { token: u.token, body });
      if (i % 100 === 99) {
        const m = await (await fetch(server.url + '/metrics')).text();
        if (/gateway_slow_consumer_closed_total 1/.test(m)) break;
      }
    }
    const m = await (await fetch(server.url + '/metrics')).text();
    assert.match(m, /gateway_slow_consumer_closed_total 1/);
    slow.ws._socket.resume();
    assert.equal((await slow.closed).code, 4010);
  } finally {
    await server.stop();
  }
});

test('a bad config value stops start-up with one line naming the key', () => {
  const r = spawnSync(HYPE_BIN, ['serve'], { env: { ...process.env, HYPE_VOICE_MODE: 'mesh' }, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /voice\.mode/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const help = spawnSync(HYPE_BIN, ['serve', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /HYPE_DATABASE_URL/);
  assert.match(help.stdout, /HYPE_VOICE_MODE/);
  const v = spawnSync(HYPE_BIN, ['version'], { encoding: 'utf8' });
  assert.match(v.stdout, /^hype \d+\.\d+\.\d+/);
});

test('SIGTERM shuts down cleanly', async () => {
  const server = await startServer();
  server.proc.kill('SIGTERM');
  const code = await new Promise((r) => server.proc.once('exit', (c) => r(c)));
  assert.equal(code, 0);
  await server.stop();
});
