// Connection-level limits shared by every WebSocket endpoint (net/websocket_session.cpp) and
// the gateway's session limits: identify deadline, unauthenticated caps, descriptor pressure,
// frame budget, bounded send queue, sessions per user and identify budgets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startServer, register, api, sleep } from './lib.mjs';

const rssKiB = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

// Opens a WebSocket that never identifies; resolves once it is open or refused.
function idleSocket(url, opts = {}) {
  const ws = new WebSocket(url, { handshakeTimeout: 5000, ...opts });
  const r = { ws, opened: false, status: 0, code: 0 };
  r.closed = new Promise((resolve) => ws.on('close', (code) => { r.code = code; resolve(code); }));
  r.ready = new Promise((resolve) => {
    ws.on('open', () => { r.opened = true; resolve(); });
    ws.on('unexpected-response', (_req, res) => { r.status = res.statusCode; res.resume(); resolve(); ws.terminate(); });
    ws.on('error', () => resolve());
  });
  return r;
}

// One gateway identify from a chosen local address: {ready, code}.
async function identify(server, token, localAddress = '127.0.0.1') {
  const ws = new WebSocket(server.wsUrl, { localAddress, handshakeTimeout: 5000 });
  const closed = new Promise((r) => ws.on('close', (code) => r(code)));
  const ready = new Promise((r) => ws.on('message', (d) => { if (JSON.parse(d).t === 'READY') r(true); }));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  ws.send(JSON.stringify({ op: 'identify', d: { token } }));
  const first = await Promise.race([ready, closed]);
  return { ws, ready: first === true, code: first === true ? 0 : first, closed };
}

test('idle sockets past the descriptor limit: /healthz and a signed-in user are served, idle ones reaped with 4003', { timeout: 40000 }, async () => {
  const server = await startServer({ HYPE_SERVER_WS_IDENTIFY_TIMEOUT: '3' }, { nofile: 256 });
  try {
    const user = await register(server);
    const voice = server.url.replace('http', 'ws') + '/voice';
    const socks = [];
    for (let i = 0; i < 300; i++) socks.push(idleSocket(voice));
    for (let i = 0; i < 20; i++) socks.push(idleSocket(server.wsUrl));
    await Promise.all(socks.map((s) => s.ready));
    const opened = socks.filter((s) => s.opened).length;
    const health = await fetch(server.url + '/healthz', { signal: AbortSignal.timeout(2000) });
    assert.equal(health.status, 200);
    const me = await api(server, 'GET', '/auth/me', { token: user.token });
    assert.equal(me.status, 200);
    const openNow = socks.filter((s) => s.ws.readyState === WebSocket.OPEN).length;
    console.log(`opened ${opened} of ${socks.length} idle sockets, ${openNow} still open when /healthz answered`);
    // Every socket that opened is closed by the server: at the identify deadline (4003) or
    // shed for a newcomer at the connection cap (1013).
    const codes = await Promise.race([
      Promise.all(socks.filter((s) => s.opened).map((s) => s.closed)),
      sleep(9000).then(() => null),
    ]);
    assert.ok(codes, `still open after the deadline: ${socks.filter((s) => s.ws.readyState === WebSocket.OPEN).length}`);
    const tally = {};
    for (const c of codes) tally[c] = (tally[c] ?? 0) + 1;
    console.log('close codes', tally);
    assert.ok(codes.every((c) => c === 4003 || c === 1013), JSON.stringify(tally));
    assert.ok(tally[4003] > 0, 'the identify deadline closes with 4003');
    assert.equal((await fetch(server.url + '/healthz')).status, 200);
  } finally {
    await server.stop();
  }
});

test('unidentified sockets are capped per address (429), other addresses still get in', { timeout: 40000 }, async () => {
  const server = await startServer({
    HYPE_LIMITS_ENABLED: 'true',
    HYPE_LIMITS_WS_UNAUTHENTICATED_PER_IP: '5',
    HYPE_SERVER_WS_IDENTIFY_TIMEOUT: '3',
  });
  try {
    const user = await register(server);
    const voice = server.url.replace('http', 'ws') + '/voice';
    const socks = [];
    for (let i = 0; i < 8; i++) socks.push(idleSocket(voice));
    await Promise.all(socks.map((s) => s.ready));
    assert.equal(socks.filter((s) => s.opened).length, 5);
    assert.deepEqual(socks.filter((s) => !s.opened).map((s) => s.status), [429, 429, 429]);
    const other = await identify(server, user.token, '127.0.0.2');
    assert.ok(other.ready, `identify from another address: ${other.code}`);
    other.ws.close();
    // Identified sockets leave the count; the deadline frees the rest.
    assert.deepEqual(await Promise.all(socks.filter((s) => s.opened).map((s) => s.closed)), [4003, 4003, 4003, 4003, 4003]);
    const again = idleSocket(voice);
    await again.ready;
    assert.ok(again.opened);
    again.ws.close();
  } finally {
    await server.stop();
  }
});

// Pipelines heartbeats on /voice without reading a single answer. Returns the close code the
// server sent (0: none) and the RSS growth in KiB.
async function pipelineHeartbeats(server, frames) {
  const port = Number(new URL(server.url).port);
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write('GET /voice HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  let rx = Buffer.alloc(0);
  await new Promise((resolve) => {
    const on = (d) => {
      rx = Buffer.concat([rx, d]);
      const i = rx.indexOf('\r\n\r\n');
      if (i < 0) return;
      sock.pause();
      sock.off('data', on);
      rx = rx.subarray(i + 4);
      resolve();
    };
    sock.on('data', on);
  });
  let gone = false;
  sock.on('error', () => { gone = true; });
  sock.on('close', () => { gone = true; });
  const payload = Buffer.from('{"op":"heartbeat"}');
  const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
  const batch = Buffer.concat(Array(10000).fill(frame));
  const rss0 = rssKiB(server.proc.pid);
  let peak = rss0;
  const sampler = setInterval(() => { try { peak = Math.max(peak, rssKiB(server.proc.pid)); } catch { /* gone */ } }, 50);
  const until = Date.now() + 8000;
  for (let sent = 0; sent < frames && !gone && Date.now() < until; sent += 10000) {
    if (!sock.write(batch)) await Promise.race([once(sock, 'drain'), once(sock, 'close'), sleep(until - Date.now())]);
  }
  // Now read: the answers queued in the kernel, then the close frame.
  const data = [rx];
  sock.on('data', (d) => data.push(d));
  sock.resume();
  await Promise.race([once(sock, 'close'), sleep(8000)]);
  clearInterval(sampler);
  peak = Math.max(peak, rssKiB(server.proc.pid));
  sock.destroy();
  const all = Buffer.concat(data);
  let code = 0;
  for (let i = 0; i + 2 <= all.length;) {
    const op = all[i] & 0x0f;
    let len = all[i + 1] & 0x7f;
    let off = i + 2;
    if (len === 126) { len = all.readUInt16BE(off); off += 2; } else if (len === 127) { len = Number(all.readBigUInt64BE(off)); off += 8; }
    if (op === 8 && off + 2 <= all.length) { code = all.readUInt16BE(off); break; }
    i = off + len;
  }
  return { code, growthKiB: peak - rss0 };
}

test('/voice: pipelined heartbeats never read fill the bounded send queue: closed 4010, memory bounded', { timeout: 40000 }, async () => {
  const server = await startServer();
  try {
    const { code, growthKiB } = await pipelineHeartbeats(server, 1_000_000);
    console.log(`no frame budget: close code ${code}, server RSS +${(growthKiB / 1024).toFixed(1)} MiB`);
    assert.equal(code, 4010);
    assert.ok(growthKiB < 32 * 1024, `RSS grew ${growthKiB} KiB`);
    assert.equal((await fetch(server.url + '/healthz')).status, 200);
  } finally {
    await server.stop();
  }
});

test('/voice: the frame budget closes a pipelining client with 4008', { timeout: 40000 }, async () => {
  const server = await startServer({ HYPE_LIMITS_ENABLED: 'true' });
  try {
    const { code, growthKiB } = await pipelineHeartbeats(server, 200_000);
    console.log(`frame budget: close code ${code}, server RSS +${(growthKiB / 1024).toFixed(1)} MiB`);
    assert.equal(code, 4008);
    assert.ok(growthKiB < 32 * 1024, `RSS grew ${growthKiB} KiB`);
  } finally {
    await server.stop();
  }
});

test('gateway: sessions per user are capped, resumable ones dropped first, then 4011', { timeout: 40000 }, async () => {
  const server = await startServer({ HYPE_GATEWAY_MAX_SESSIONS_PER_USER: '3' });
  try {
    const user = await register(server);
    const a = await identify(server, user.token);
    const b = await identify(server, user.token);
    const c = await identify(server, user.token);
    assert.ok(a.ready && b.ready && c.ready);
    const d = await identify(server, user.token);
    assert.equal(d.code, 4011, 'every session attached: the newest is refused');
    a.ws.terminate();  // dropped without a close frame: resumable
    await sleep(200);
    const e = await identify(server, user.token);
    assert.ok(e.ready, `identify after one session detached: ${e.code}`);
    for (const x of [b, c, e]) x.ws.close();
  } finally {
    await server.stop();
  }
});

test('gateway: identify is budgeted per address and per user (4008)', { timeout: 40000 }, async () => {
  const server = await startServer({ HYPE_LIMITS_ENABLED: 'true', HYPE_LIMITS_IDENTIFY: '3/60s' });
  try {
    const alice = await register(server, 'alice');
    const bob = await register(server, 'bob');
    for (let i = 0; i < 3; i++) {
      const r = await identify(server, alice.token);
      assert.ok(r.ready, `identify ${i + 1}: ${r.code}`);
      r.ws.close();
      await r.closed;
    }
    assert.equal((await identify(server, alice.token)).code, 4008, 'address over budget');
    assert.equal((await identify(server, alice.token, '127.0.0.2')).code, 4008, 'user over budget');
    assert.equal((await identify(server, bob.token)).code, 4008, 'same address, other user');
    const fresh = await identify(server, bob.token, '127.0.0.3');
    assert.ok(fresh.ready, 'another user from another address');
    fresh.ws.close();
  } finally {
    await server.stop();
  }
});
