// Behind a real nginx, configured as deploy/nginx.conf (the same proxy headers, without TLS):
// clients reach it from different loopback addresses (127.0.0.2, 127.0.0.3: the whole
// 127.0.0.0/8 is local), nginx names them in X-Forwarded-For, and hype trusts nginx only.
// One client guessing passwords, even one that writes its own X-Forwarded-For, must not lock
// out another; WebSockets pass through the proxy too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import WebSocket from 'ws';
import { startServer, sleep, NGINX, startNginx, freePort } from './lib.mjs';

const skip = !NGINX && 'nginx is not installed (scripts/bootstrap installs it)';
let server;
let nginx;
let dir;
let port;


// The location block of deploy/nginx.conf, so the test checks the documented set-up.
function locationBlock() {
  const conf = readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8');
  const m = conf.match(/location \/ \{[\s\S]*?\n {4}\}/);
  if (!m) throw new Error('deploy/nginx.conf has no `location /` block');
  return m[0];
}

before(async () => {
  if (skip) return;
  server = await startServer({ HYPE_LIMITS_ENABLED: 'true', HYPE_SERVER_TRUSTED_PROXIES: '127.0.0.1' });
  const upstream = new URL(server.url);
  dir = mkdtempSync(join(tmpdir(), 'hype-nginx-'));
  port = await freePort();
  nginx = startNginx(dir, `
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream hype { server ${upstream.host}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 1m;
    ${locationBlock().replace('$scheme', 'http')}
  }`);
  for (let i = 0; i < 100; i++) {
    try { if ((await request('127.0.0.2', 'GET', '/healthz')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
});

after(async () => {
  if (nginx && nginx.exitCode === null) {
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('exit', r));
  }
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// One HTTP request to nginx from `localAddress`.
function request(localAddress, method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({
      host: '127.0.0.1', port, localAddress, method, path, agent: false,
      headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = text; }
        resolve({ status: res.statusCode, body: json });
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    if (payload) req.write(payload);
    req.end();
  });
}

let n = 0;
const uname = (p) => `${p}${process.pid}_${++n}`;

test('behind nginx, one address guessing passwords (and spoofing X-Forwarded-For) does not lock out another', { skip }, async () => {
  const username = uname('px');
  const password = 'correct horse battery';
  const reg = await request('127.0.0.2', 'POST', '/api/v1/auth/register', { body: { username, password } });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const codes = [];
  for (let i = 0; i < 14; i++) {
    const r = await request('127.0.0.3', 'POST', '/api/v1/auth/login', {
      body: { username: uname('nobody'), password: 'wrong' },
      headers: { 'x-forwarded-for': '127.0.0.2' },  // pretends to be the victim
    });
    codes.push(r.status);
  }
  assert.ok(codes.includes(429), `the guessing address was never limited: ${codes.join(',')}`);
  assert.ok(codes.slice(0, 5).every((c) => c === 401), codes.join(','));
  const ok = await request('127.0.0.2', 'POST', '/api/v1/auth/login', { body: { username, password } });
  assert.equal(ok.status, 200, `the other client's correct login answered ${ok.status}`);
  const me = await request('127.0.0.2', 'GET', '/api/v1/auth/me', { headers: { authorization: `Bearer ${ok.body.access_token}` } });
  assert.equal(me.status, 200);
});

test('the gateway WebSocket works through nginx', { skip }, async () => {
  const username = uname('pxws');
  const reg = await request('127.0.0.4', 'POST', '/api/v1/auth/register', { body: { username, password: 'correct horse battery' } });
  assert.equal(reg.status, 201);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/gateway`, { localAddress: '127.0.0.4' });
  const frames = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  ws.send(JSON.stringify({ op: 'identify', d: { token: reg.body.access_token } }));
  for (let i = 0; i < 100 && !frames.some((f) => f.t === 'READY'); i++) await sleep(50);
  assert.ok(frames.some((f) => f.t === 'READY'), `no READY through nginx: ${JSON.stringify(frames).slice(0, 300)}`);
  ws.close(1000);
});
