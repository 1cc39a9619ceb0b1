#!/usr/bin/env node
// Gateway fan-out benchmark (issue #3).
//
// Starts `hype serve` (SQLite, or a throwaway PostgreSQL with --db postgres), registers N
// users who all join one guild through an invite, connects N gateway clients, then a few
// sender users post R messages/s for D seconds through REST. Every message's content carries
// the performance.now() at which it was sent; since senders and receivers live in this one
// process, receive time minus that stamp is the end-to-end delivery latency (HTTP request,
// database insert, event bus, gateway fan-out, WebSocket write, client read).
//
// The client side is written to cost as little as possible per frame: after READY, frames
// are never JSON.parse'd. A MESSAGE_CREATE is recognised by a byte search for
// `"t":"MESSAGE_CREATE"` and the stamp is read from the bytes after the `fanout:` marker in
// the content. With --sample K only K receivers (evenly spread) extract stamps; the others
// just count frames and bytes. The load generator's own CPU and event-loop delay are
// reported so a saturated client can be told apart from a slow server.
//
// Usage: node fanout.mjs [--clients 500] [--rate 200] [--duration 20] [--senders 4]
//          [--db sqlite|postgres] [--sample 0] [--size 100] [--no-pin] [--json FILE] [--smoke]
//          [--perf FILE]   (perf record -e cpu-clock --call-graph dwarf of the server while sending)
//          [--nodes 2]     (a cluster: that many api+gateway nodes sharing the PostgreSQL of
//                           --db postgres and a redis-server of their own, all pinned to
//                           --server-cpu; receivers and senders alternate between nodes, so
//                           every message crosses nodes through the Redis event stream;
//                           CPU, RSS and waits are the nodes' sums, Redis's CPU apart)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import http from 'node:http';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { cpuSeconds, treeCpuSeconds, memory, loadavg, cpuModel, sched } from './procstat.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

const { values: a } = parseArgs({
  options: {
    clients: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    senders: { type: 'string' },
    db: { type: 'string', default: 'sqlite' },
    sample: { type: 'string', default: '0' },
    size: { type: 'string', default: '100' },
    'no-pin': { type: 'boolean', default: false },
    'server-cpu': { type: 'string', default: '0' },
    'bench-cpu': { type: 'string', default: '1' },
    json: { type: 'string' },
    perf: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '1' },
    bin: { type: 'string', default: process.env.HYPE_BIN ?? join(repo, 'build/release/src/app/hype') },
    help: { type: 'boolean', default: false },
  },
});
if (a.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n'));
  process.exit(0);
}
const smoke = a.smoke;
const N = Number(a.clients ?? (smoke ? 20 : 500));
const R = Number(a.rate ?? (smoke ? 20 : 200));
const D = Number(a.duration ?? (smoke ? 3 : 20));
const S = Math.min(N, Number(a.senders ?? (smoke ? 2 : 4)));
const SAMPLE = Number(a.sample);
const SIZE = Number(a.size);
const pin = !a['no-pin'] && cpus().length >= 2;
if (!(N > 0 && R > 0 && D > 0 && S > 0)) throw new Error('clients, rate, duration, senders must be > 0');
if (!['sqlite', 'postgres'].includes(a.db)) throw new Error('--db sqlite|postgres');
const NODES = Number(a.nodes);
if (!(NODES >= 1)) throw new Error('--nodes must be >= 1');
if (NODES > 1 && a.db !== 'postgres') throw new Error('--nodes > 1 needs --db postgres (the nodes share one database)');

const log = (...m) => console.error(`[fanout ${(performance.now() / 1000).toFixed(1)}s]`, ...m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- histogram (10 us buckets)
class Histogram {
  constructor(maxMs = 30000, stepMs = 0.01) {
    this.step = stepMs;
    this.b = new Uint32Array(Math.ceil(maxMs / stepMs) + 1);
    this.n = 0; this.max = 0; this.sum = 0;
  }
  add(ms) {
    if (ms < 0) ms = 0;
    const i = Math.min(this.b.length - 1, Math.floor(ms / this.step));
    this.b[i]++; this.n++; this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  pct(p) {
    if (!this.n) return NaN;
    const want = Math.ceil(this.n * p / 100);
    let acc = 0;
    for (let i = 0; i < this.b.length; i++) { acc += this.b[i]; if (acc >= want) return (i + 1) * this.step; }
    return this.max;
  }
  summary() {
    return { n: this.n, mean: this.n ? this.sum / this.n : NaN, p50: this.pct(50), p95: this.pct(95), p99: this.pct(99), max: this.max };
  }
}

// ---------------------------------------------------------------- server (and PostgreSQL)
const cleanups = [];
let stopping = false;
async function cleanup() {
  stopping = true;
  while (cleanups.length) { try { await cleanups.pop()(); } catch (e) { log('cleanup:', e.message); } }
}
process.on('SIGINT', async () => { await cleanup(); process.exit(130); });

const taskset = (cpu, cmd, args) => (pin ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);

async function startPostgres() {
  const dir = mkdtempSync(join(tmpdir(), 'hype-bench-pg-'));
  const [cmd, args] = taskset(a['server-cpu'], join(repo, 'scripts/services/postgres.sh'), ['start', dir]);
  const url = execFileSync(cmd, args).toString().trim();
  cleanups.push(() => {
    execFileSync(join(repo, 'scripts/services/postgres.sh'), ['stop', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const pid = Number(readFileSync(join(dir, 'data/postmaster.pid'), 'latin1').split('\n')[0]);
  return { url, pid };
}

async function startRedis() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  const [cmd, args] = taskset(a['server-cpu'], 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const proc = spawn(cmd, args, { stdio: 'ignore' });
  cleanups.push(async () => { proc.kill('SIGKILL'); });
  for (let i = 0; i < 100; i++) {
    try { if (execFileSync('redis-cli', ['-p', String(port), 'PING']).toString().trim() === 'PONG') return { url: `redis://127.0.0.1:${port}`, pid: proc.pid }; } catch { /* not yet */ }
    await sleep(50);
  }
  throw new Error('redis-server did not start');
}

async function startServer(dbUrl, extraEnv = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hype-bench-'));
  const env = {
    ...process.env,
    ...extraEnv,
    HYPE_SERVER_PORT: '0',
    HYPE_SERVER_DATA_DIR: dataDir,
    HYPE_LIMITS_ENABLED: 'false',
    HYPE_AUTH_ARGON2_MEM_KIB: '8192',
    HYPE_AUTH_ARGON2_OPS: '1',
    HYPE_LOG_LEVEL: process.env.HYPE_LOG_LEVEL ?? 'warn',
  };
  if (dbUrl) env.HYPE_DATABASE_URL = dbUrl;
  const [cmd, args] = taskset(a['server-cpu'], a.bin, NODES > 1 ? ['serve', '--roles', 'api,gateway'] : ['serve']);
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d.toString(); if (stderr.length > 1e6) stderr = stderr.slice(-5e5); });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + stderr)), 30000);
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/running at (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(5000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  // With taskset the child is taskset, which execs hype: same pid.
  return { url, wsUrl: url.replace('http', 'ws') + '/gateway', proc, pid: proc.pid, stderr: () => stderr };
}

// ---------------------------------------------------------------- REST client
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function request(server, method, path, { token, body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) { headers['content-type'] = 'application/json'; headers['content-length'] = Buffer.byteLength(payload); }
    const req = http.request(server.url + '/api/v1' + path, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = text; }
        resolve({ status: res.statusCode, body: json });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
async function must(p, status, what) {
  const r = await p;
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
async function inBatches(n, batch, fn) {
  const out = new Array(n);
  for (let i = 0; i < n; i += batch) {
    const idx = [];
    for (let j = i; j < Math.min(n, i + batch); j++) idx.push(j);
    await Promise.all(idx.map(async (j) => { out[j] = await fn(j); }));
  }
  return out;
}

// ---------------------------------------------------------------- gateway receivers
const LOOP_RES = 5; // ms, event-loop delay sampling period
const MC = Buffer.from('"t":"MESSAGE_CREATE"');
const MARK = Buffer.from('fanout:');
const counters = { frames: 0, bytes: 0, mc: 0, closes: 0, closeCodes: {} };
const latency = new Histogram();
let measuring = false; // stamps before the run (none) and after are not mixed in

function makeReceiver(server, token, sampled) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, { perMessageDeflate: false, skipUTF8Validation: true });
    const r = { ws, sampled, mc: 0, ready: false, hb: null };
    const timer = setTimeout(() => reject(new Error('identify timed out')), 60000);
    ws.on('message', (data) => {
      counters.frames++;
      counters.bytes += data.length;
      if (r.ready) {
        const at = data.indexOf(MC);
        if (at < 0 || at > 40) return;
        r.mc++; counters.mc++;
        if (!sampled || !measuring) return;
        const m = data.indexOf(MARK, at);
        if (m < 0) return;
        // Parse the decimal stamp by hand: no string allocation per frame.
        let v = 0, frac = 0, scale = 1, i = m + MARK.length;
        for (; i < data.length; i++) {
          const c = data[i];
          if (c === 46) { frac = 1; continue; }
          if (c < 48 || c > 57) break;
          if (frac) { scale *= 10; v = v * 10 + (c - 48); } else v = v * 10 + (c - 48);
        }
        latency.add(performance.now() - v / scale);
        return;
      }
      const f = JSON.parse(data.toString());
      if (f.op === 'hello') {
        r.hb = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send('{"op":"heartbeat"}'); }, f.d.heartbeat_interval * 0.8);
        ws.send(JSON.stringify({ op: 'identify', d: { token } }));
      } else if (f.t === 'READY') {
        r.ready = true;
        clearTimeout(timer);
        resolve(r);
      }
    });
    ws.on('close', (code) => {
      clearInterval(r.hb);
      counters.closes++;
      counters.closeCodes[code] = (counters.closeCodes[code] ?? 0) + 1;
      if (!r.ready) { clearTimeout(timer); reject(new Error(`gateway closed ${code} before READY`)); }
    });
    ws.on('error', (e) => { if (!r.ready) { clearTimeout(timer); reject(e); } });
  });
}

async function metric(server, name) {
  try {
    const text = await new Promise((resolve, reject) => {
      http.get(server.url + '/metrics', { agent }, (res) => {
        let t = ''; res.on('data', (c) => { t += c; }); res.on('end', () => resolve(t));
      }).on('error', reject);
    });
    const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch { return NaN; }
}

// ---------------------------------------------------------------- main
async function main() {
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', a['bench-cpu'], String(process.pid)], { stdio: 'ignore' });
  const started = new Date();
  log(`clients=${N} rate=${R}/s duration=${D}s senders=${S} db=${a.db} sample=${SAMPLE || 'all'} size=${SIZE} pin=${pin ? `server:${a['server-cpu']} bench:${a['bench-cpu']}` : 'no'} load=${loadavg()}`);

  let pg = null;
  if (a.db === 'postgres') { pg = await startPostgres(); log('postgres', pg.url); }
  let redis = null;
  const servers = [];
  if (NODES > 1) {
    redis = await startRedis();
    log('redis', redis.url);
    for (let n = 1; n <= NODES; n++) {
      servers.push(await startServer(pg.url, {
        HYPE_CLUSTER_REDIS_URL: redis.url, HYPE_SERVER_NODE_ID: String(n),
        HYPE_AUTH_TOKEN_SECRET: 'fanout-bench-token-secret-0123456789abcdef', HYPE_AUTH_VOICE_KEY: 'fanout-bench-voice-key-0123456789abcdef0',
      }));
    }
  } else {
    servers.push(await startServer(pg?.url));
  }
  const server = servers[0];
  for (const s of servers) log('server', s.url, 'pid', s.pid);
  let serverDied = false;
  for (const s of servers) s.proc.on('exit', (code, sig) => { if (stopping) return; serverDied = true; log(`SERVER EXITED code=${code} signal=${sig}`); });
  // The nodes' sums (one node: that node).
  const serverCpu = () => servers.reduce((t, s) => t + cpuSeconds(s.pid), 0);
  const serverSched = () => servers.reduce((t, s) => { const x = sched(s.pid); return { wait: t.wait + x.wait }; }, { wait: 0 });
  const serverMem = () => servers.reduce((t, s) => { const m = memory(s.pid); return { rssMiB: t.rssMiB + m.rssMiB, hwmMiB: t.hwmMiB + m.hwmMiB }; }, { rssMiB: 0, hwmMiB: 0 });

  // Users: register concurrently in batches (Argon2 runs on the server's database pool).
  const tag = `f${process.pid.toString(36)}`;
  let t = performance.now();
  const users = await inBatches(N, 32, async (i) => {
    const b = await must(request(server, 'POST', '/auth/register', { body: { username: `${tag}_${i}`, password: 'correct horse battery' } }), 201, 'register');
    return { token: b.access_token, id: b.user.id };
  });
  log(`registered ${N} users in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const guild = await must(request(server, 'POST', '/guilds', { token: users[0].token, body: { name: 'fanout' } }), 201, 'create guild');
  const channel = (await must(request(server, 'GET', `/guilds/${guild.id}/channels`, { token: users[0].token }), 200, 'channels')).find((c) => c.kind === 'text');
  const invite = await must(request(server, 'POST', `/guilds/${guild.id}/invites`, { token: users[0].token, body: {} }), 201, 'invite');
  t = performance.now();
  await inBatches(N - 1, 32, (i) => must(request(server, 'POST', `/invites/${invite.code}`, { token: users[i + 1].token }), 200, 'join'));
  log(`${N - 1} joins in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Gateway clients: sampled receivers spread evenly over the population.
  const every = SAMPLE > 0 ? Math.max(1, Math.floor(N / SAMPLE)) : 1;
  t = performance.now();
  const receivers = await inBatches(N, 50, (i) => makeReceiver(servers[i % NODES], users[i].token, SAMPLE > 0 ? i % every === 0 && i / every < SAMPLE : true));
  const sampledCount = receivers.filter((r) => r.sampled).length;
  log(`${N} gateway sessions READY in ${((performance.now() - t) / 1000).toFixed(1)} s; ${sampledCount} measure latency`);
  // Presence updates from the connect phase fan out O(N^2) frames: wait until quiet.
  for (let last = -1, quiet = 0; quiet < 3;) {
    await sleep(250);
    quiet = counters.frames === last ? quiet + 1 : 0;
    last = counters.frames;
  }

  // Run: open loop at R messages/s, round-robin over the senders.
  const pad = 'x'.repeat(Math.max(0, SIZE - 30));
  const post = new Histogram();
  const total = Math.round(R * D);
  let sent = 0, ok = 0, failed = 0, inflight = 0;
  const failures = {};
  const before = { sched: serverSched(), selfSched: sched(process.pid), server: serverCpu(), redis: redis ? cpuSeconds(redis.pid) : 0, pg: pg ? treeCpuSeconds(pg.pid) : 0, self: process.cpuUsage(), frames: counters.frames, bytes: counters.bytes, mc: counters.mc };
  const loop = monitorEventLoopDelay({ resolution: LOOP_RES });
  loop.enable();
  let perfProc = null;
  if (a.perf) {
    perfProc = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '499', '--call-graph', 'dwarf,16384', '-o', a.perf, '-p', String(server.pid), '--', 'sleep', String(D)], { stdio: ['ignore', 'ignore', 'inherit'] });
    await sleep(300); // let perf attach
  }
  measuring = true;
  const t0 = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * R));
      while (sent < due) {
        const i = sent++;
        const sender = users[i % S];
        const ts = performance.now();
        inflight++;
        request(servers[i % NODES], 'POST', `/channels/${channel.id}/messages`, { token: sender.token, body: { content: `fanout:${ts.toFixed(3)}:${i}:${pad}` } })
          .then((r) => {
            if (r.status === 201) { ok++; post.add(performance.now() - ts); } else { failed++; failures[r.status] = (failures[r.status] ?? 0) + 1; }
          }, (e) => { failed++; failures[e.code ?? e.message] = (failures[e.code ?? e.message] ?? 0) + 1; })
          .finally(() => { inflight--; });
      }
      if (sent >= total) resolve(); else setTimeout(tick, 2);
    };
    tick();
  });
  const tSendEnd = performance.now();
  const atSendEnd = { sched: serverSched(), selfSched: sched(process.pid), server: serverCpu(), redis: redis ? cpuSeconds(redis.pid) : 0, pg: pg ? treeCpuSeconds(pg.pid) : 0, self: process.cpuUsage(before.self), mc: counters.mc, frames: counters.frames, bytes: counters.bytes };
  const memAtEnd = serverMem();
  // Drain: wait for responses, then for deliveries to stop arriving.
  while (inflight > 0 && performance.now() - tSendEnd < 30000) await sleep(20);
  const expected = ok * N;
  for (let last = -1, still = 0; counters.mc - before.mc < expected && still < 40 && !serverDied;) {
    await sleep(50);
    still = counters.mc === last ? still + 1 : 0; // 2 s without progress: give up
    last = counters.mc;
  }
  const tEnd = performance.now();
  measuring = false;
  loop.disable();
  const after = { server: serverCpu(), pg: pg ? treeCpuSeconds(pg.pid) : 0, self: process.cpuUsage(before.self) };
  const received = counters.mc - before.mc;
  const sendSecs = (tSendEnd - t0) / 1000;
  const allSecs = (tEnd - t0) / 1000;
  let slowClosed = 0;
  for (const s of servers) slowClosed += await metric(s, 'gateway_slow_consumer_closed_total');
  const mem = serverMem();

  const lat = latency.summary();
  const result = {
    date: started.toISOString(),
    machine: { nproc: cpus().length, cpu: cpuModel(), loadavg_at_end: loadavg() },
    config: { clients: N, rate: R, duration: D, senders: S, db: a.db, nodes: NODES, sampled_receivers: sampledCount, content_bytes: Math.max(SIZE, 30), pinned: pin },
    sent, posted_ok: ok, post_failed: failed, post_failures: failures,
    expected, received, lost: expected - received, loss_pct: expected ? (100 * (expected - received)) / expected : 0,
    delivered_per_s_during_send: (atSendEnd.mc - before.mc) / sendSecs,
    delivered_per_s_overall: received / allSecs,
    drain_s: (tEnd - tSendEnd) / 1000,
    frame_bytes_avg: (atSendEnd.bytes - before.bytes) / Math.max(1, atSendEnd.frames - before.frames),
    latency_ms: lat,
    post_latency_ms: post.summary(),
    server: {
      cpu_pct_during_send: (100 * (atSendEnd.server - before.server)) / sendSecs,
      cpu_pct_overall: (100 * (after.server - before.server)) / allSecs,
      runqueue_wait_pct_during_send: (100 * (atSendEnd.sched.wait - before.sched.wait)) / sendSecs,
      rss_mib: mem.rssMiB, rss_mib_at_send_end: memAtEnd.rssMiB, peak_rss_mib: mem.hwmMiB,
      slow_consumer_closed: slowClosed,
    },
    postgres_cpu_pct_during_send: pg ? (100 * (atSendEnd.pg - before.pg)) / sendSecs : null,
    redis_cpu_pct_during_send: redis ? (100 * (atSendEnd.redis - before.redis)) / sendSecs : null,
    server_cpu_us_per_frame: (1e6 * (atSendEnd.server - before.server)) / Math.max(1, atSendEnd.mc - before.mc),
    bench: {
      cpu_pct_during_send: (100 * (atSendEnd.self.user + atSendEnd.self.system)) / 1e6 / sendSecs,
      cpu_pct_overall: (100 * (after.self.user + after.self.system)) / 1e6 / allSecs,
      runqueue_wait_pct_during_send: (100 * (atSendEnd.selfSched.wait - before.selfSched.wait)) / sendSecs,
      // The histogram records whole timer periods: subtract the period to get the lag.
      event_loop_delay_ms: { p50: loop.percentile(50) / 1e6 - LOOP_RES, p99: loop.percentile(99) / 1e6 - LOOP_RES, max: loop.max / 1e6 - LOOP_RES },
    },
    gateway_closes: counters.closes, close_codes: counters.closeCodes,
    server_died: serverDied,
  };
  if (perfProc && perfProc.exitCode === null) await new Promise((r) => perfProc.once('exit', r));
  for (const r of receivers) { clearInterval(r.hb); r.ws.terminate(); }
  await cleanup();
  agent.destroy();

  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  console.log(`
gateway fan-out: ${N} clients, ${R} msg/s for ${D} s, ${S} senders, ${a.db}${NODES > 1 ? `, ${NODES} nodes + Redis` : ''}${pin ? ', server on cpu ' + a['server-cpu'] + ', bench on cpu ' + a['bench-cpu'] : ''}
  posted ${ok}/${sent} (failed ${failed})   expected deliveries ${expected}   received ${received}   lost ${expected - received} (${f(result.loss_pct, 3)}%)
  delivered/s ${f(result.delivered_per_s_during_send, 0)} during send, ${f(result.delivered_per_s_overall, 0)} overall (drain ${f(result.drain_s, 2)} s)
  latency ms (${lat.n} samples from ${sampledCount} receivers): p50 ${f(lat.p50, 2)}  p95 ${f(lat.p95, 2)}  p99 ${f(lat.p99, 2)}  max ${f(lat.max, 2)}
  POST latency ms: p50 ${f(result.post_latency_ms.p50, 2)}  p99 ${f(result.post_latency_ms.p99, 2)}
  server CPU ${f(result.server.cpu_pct_during_send)}% of a core during send, ${f(result.server_cpu_us_per_frame, 2)} us per delivered frame (runnable but waiting for a CPU ${f(result.server.runqueue_wait_pct_during_send)}%); RSS ${f(mem.rssMiB)} MiB (peak ${f(mem.hwmMiB)} MiB); slow-consumer closes ${slowClosed}${pg ? `\n  postgres CPU ${f(result.postgres_cpu_pct_during_send)}% during send` : ''}${redis ? `\n  redis CPU ${f(result.redis_cpu_pct_during_send)}% during send` : ''}
  bench CPU ${f(result.bench.cpu_pct_during_send)}% during send (waiting for a CPU ${f(result.bench.runqueue_wait_pct_during_send)}%); event-loop delay p50 ${f(result.bench.event_loop_delay_ms.p50, 2)} p99 ${f(result.bench.event_loop_delay_ms.p99, 2)} max ${f(result.bench.event_loop_delay_ms.max, 2)} ms
  load average at end ${result.machine.loadavg_at_end}`);
  console.log(JSON.stringify(result));
  if (a.json) writeFileSync(a.json, JSON.stringify(result, null, 2) + '\n');

  const problems = [];
  if (serverDied) problems.push('server died');
  if (failed) problems.push(`${failed} POSTs failed`);
  if (received === 0) problems.push('nothing delivered');
  if (smoke && received !== expected) problems.push(`lost ${expected - received} deliveries`);
  if (smoke && result.gateway_closes) problems.push(`${result.gateway_closes} gateway connections closed during the run`);
  if (problems.length) { console.error('FAIL:', problems.join('; ')); process.exit(1); }
}

main().catch(async (e) => {
  console.error('fanout failed:', e);
  await cleanup();
  process.exit(1);
});
