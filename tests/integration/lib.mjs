// Test helpers: start a real `hype serve`, talk REST and gateway to it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';

export const HYPE_BIN = process.env.HYPE_BIN ?? new URL('../../build/release/src/app/hype', import.meta.url).pathname;
export const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');

// A hype-bot run with --json: `mediaStart()` is the wall time its media window starts (the bot
// says "media start" 300 ms before), `report()` its JSON report once it exits, `stop()` ends it.
export function runBots(args) {
  const proc = spawn(BOT_BIN, ['--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let mediaStart = 0;
  proc.stdout.on('data', (d) => { out += d.toString(); });
  proc.stderr.on('data', (d) => {
    err += d.toString();
    if (!mediaStart && err.includes('hype-bot: media start')) mediaStart = Date.now() + 300;
  });
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    proc,
    stderr: () => err,
    mediaStart: () => mediaStart,
    async report() {
      await exited;
      return JSON.parse(out.trim().split('\n').pop());
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGTERM'); await exited; }
    },
  };
}

// The voice-token public key `hype keys` prints for a voice key (what SFU-only nodes are given
// as HYPE_AUTH_VOICE_PUBLIC_KEY).
export function voicePublicKeyOf(voiceKey) {
  const dir = mkdtempSync(join(tmpdir(), 'hype-keys-'));
  try {
    const r = spawnSync(HYPE_BIN, ['keys'], { env: { ...process.env, HYPE_SERVER_DATA_DIR: dir, HYPE_AUTH_VOICE_KEY: voiceKey }, encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) throw new Error(`hype keys exited ${r.status}: ${r.stderr}`);
    const m = /voice_public_key = "([A-Za-z0-9_-]{43})"/.exec(r.stdout);
    if (!m) throw new Error(`hype keys printed no key: ${r.stdout}`);
    return m[1];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Starts a server on a free port with its own data dir; resolves once /readyz answers.
// `nofile` runs it under that descriptor limit (soft and hard, via prlimit).
// HYPE_TEST_CLUSTER=1 (scripts/test's integration-two-nodes stage runs suites so): a plain
// startServer() (no extra arguments, no Redis of its own) starts two all-role nodes (api,
// gateway, sfu) that share HYPE_TEST_DATABASE_URL and a throwaway redis-server, as a cluster
// does. REST goes to the first node; gateway connections alternate between the two (`wsUrl`
// changes at each read), so a suite's clients sit on different nodes and events cross nodes
// through Redis; a voice channel is placed on either node's SFU (see voiceUrlOf).
// `opts.nodeEnv`: in that mode, node i's own settings on top of `env` (an array, one object a
// node; e.g. a fixed HYPE_SFU_PORT each: two nodes on one port would take each other's UDP).
export const clusterMode = () => process.env.HYPE_TEST_CLUSTER === '1' && !!process.env.HYPE_TEST_DATABASE_URL;
export async function startServer(env = {}, opts = {}) {
  if (clusterMode() && !opts.args && !opts.nofile
      && !env.HYPE_CLUSTER_REDIS_URL && !env.HYPE_DATABASE_URL) return startTwoNodes(env, opts.nodeEnv);
  return startOneServer(env, opts);
}

// The processes behind a server from startServer(): its two nodes, or itself.
export const nodesOf = (server) => server.nodes ?? [server];

// The /voice WebSocket a voice join answer names (`sfu.url`: the node the channel is placed
// on, which in a cluster need not be the node that answered the join); the server's own
// /voice only when the answer names none.
export const voiceUrlOf = (server, joinAnswer) => joinAnswer?.sfu?.url || server.url.replace('http', 'ws') + '/voice';

// A metric's value summed over its series and over the server's nodes (an SFU counter of a
// cluster: whichever node the channel is on). `name` may include labels
// (`x{reason="muted"}`); without labels every series of that name counts.
export async function metricSum(server, name) {
  let sum = 0;
  for (const n of nodesOf(server)) {
    const text = await (await fetch(n.url + '/metrics')).text();
    for (const l of text.split('\n')) if (l.startsWith(name + ' ') || (!name.includes('{') && l.startsWith(name + '{'))) sum += Number(l.split(' ').pop());
  }
  return sum;
}

async function startTwoNodes(env, nodeEnv = []) {
  const redis = await redisServer();
  const shared = {
    HYPE_CLUSTER_REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    HYPE_AUTH_TOKEN_SECRET: 'two-node-suite-token-secret-0123456789ab',
    HYPE_AUTH_VOICE_KEY: 'two-node-suite-voice-key-0123456789abcdef',
    HYPE_CLUSTER_EVENT_HISTORY: '10000',  // events on the stream: one order on both nodes
    ...env,
  };
  const nodes = [];
  try {
    for (const id of [1, 2]) nodes.push(await startOneServer({ ...shared, ...nodeEnv[id - 1], HYPE_SERVER_NODE_ID: String(id) }));
  } catch (e) {  // e.g. a port taken: stop what did start (callers may try again)
    for (const n of nodes) await n.stop();
    await redis.close();
    throw e;
  }
  // Every role runs on both: wait until both SFUs are in the registry (their first heartbeat).
  for (let i = 0; i < 100; i++) {
    if (redis.cli('ZCARD', 'hype:{sfu}:nodes').stdout.trim() === '2') break;
    await sleep(50);
  }
  let next = 0;
  return {
    url: nodes[0].url,
    dataDir: nodes[0].dataDir,
    proc: nodes[0].proc,
    nodes,
    get wsUrl() { return nodes[next++ % 2].wsUrl; },
    stderr: () => nodes.map((n) => n.stderr()).join('\n'),
    async stop() {
      for (const n of nodes) await n.stop();
      await redis.close();
    },
  };
}

async function startOneServer(env = {}, { nofile, args: extraArgs = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hype-it-'));
  const fullEnv = {
    ...process.env,
    HYPE_SERVER_PORT: '0',
    HYPE_SERVER_DATA_DIR: dataDir,
    HYPE_LIMITS_ENABLED: 'false',
    HYPE_AUTH_ARGON2_MEM_KIB: '8192',
    HYPE_AUTH_ARGON2_OPS: '1',
    HYPE_LOG_LEVEL: 'warn',
    ...env,
  };
  if (process.env.HYPE_TEST_DATABASE_URL && !env.HYPE_DATABASE_URL) {
    fullEnv.HYPE_DATABASE_URL = process.env.HYPE_TEST_DATABASE_URL;
  }
  const [cmd, args] = nofile
    ? ['prlimit', [`--nofile=${nofile}:${nofile}`, HYPE_BIN, 'serve', ...extraArgs]]
    : [HYPE_BIN, ['serve', ...extraArgs]];
  const proc = spawn(cmd, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d.toString(); });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + stderr)), 20000);
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/running at (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url + '/readyz')).ok) break; } catch { /* not yet */ }
    await sleep(50);
  }
  return {
    url,
    dataDir,
    wsUrl: url.replace('http', 'ws') + '/gateway',
    proc,
    stderr: () => stderr,
    async stop() {
      // A process killed by a signal has signalCode set and exitCode null: already stopped.
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function api(server, method, path, { token, body, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] = 'application/json'; }
  const res = await fetch(server.url + '/api/v1' + path, { method, headers: h, body: payload });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: res.status, body: json, headers: res.headers };
}

let counter = 0;
export async function register(server, prefix = 'user') {
  const username = `${prefix}${process.pid}_${++counter}`;
  const r = await api(server, 'POST', '/auth/register', { body: { username, password: 'correct horse battery' } });
  if (r.status !== 201) throw new Error(`register failed ${r.status} ${JSON.stringify(r.body)}`);
  return { ...r.body, username, token: r.body.access_token, id: r.body.user.id };
}

// A gateway client that records every frame and lets tests wait for one.
export class GatewayClient {
  constructor(server, token) {
    this.server = server;
    this.token = token;
    this.frames = [];
    this.waiters = [];
    this.seq = 0;
  }
  async connect({ resume } = {}) {
    // One node per client (a two-node suite alternates between clients, not reconnects: a
    // resume needs the node that holds the session until resume on any node exists).
    this.wsUrl ??= this.server.wsUrl;
    this.ws = new WebSocket(this.wsUrl, this.server.wsOptions);  // wsOptions: e.g. a TLS { ca }
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (typeof f.s === 'number') this.seq = f.s;
      if (typeof f.c === 'string') this.cursor = f.c;  // the event stream position (cluster)
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => !w(f));
    });
    await new Promise((resolve, reject) => { this.ws.once('open', resolve); this.ws.once('error', reject); });
    const hello = await this.waitFor((f) => f.op === 'hello');
    this.heartbeatInterval = hello.d.heartbeat_interval;
    if (resume) {
      const d = { token: this.token, session_id: this.sessionId, seq: resume };
      if (this.cursor) d.cursor = this.cursor;
      this.send({ op: 'resume', d });
      return this.waitFor((f) => f.t === 'RESUMED');
    }
    if (this.token) {
      this.send({ op: 'identify', d: { token: this.token } });
      const ready = await this.waitFor((f) => f.t === 'READY');
      this.sessionId = ready.d.session_id;
      return ready;
    }
    return hello;
  }
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  waitFor(pred, timeoutMs = 5000) {
    const found = this.frames.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for gateway frame; got ' + JSON.stringify(this.frames.slice(-5).map((f) => f.t ?? f.op)))), timeoutMs);
      this.waiters.push((f) => { if (pred(f)) { clearTimeout(timer); resolve(f); return true; } return false; });
    });
  }
  events(type) { return this.frames.filter((f) => f.t === type); }
  close() { this.ws.close(); return this.closed; }
  terminate() { this.ws.terminate(); return this.closed; }
}

// Lints a /metrics text with `promtool check metrics` (Debian's prometheus package). Returns
// null when it is clean, the problems otherwise, or `undefined` when promtool is not
// installed (callers skip with a message then).
export function promtoolCheck(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error?.code === 'ENOENT') return undefined;
  if (r.status === 0 && !r.stdout.trim() && !r.stderr.trim()) return null;
  return `promtool exit ${r.status}: ${r.stdout}${r.stderr}`;
}

// Debian's nginx, if installed (scripts/bootstrap installs it).
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

// An nginx of its own in `dir` (pid, logs, temp paths there; in the foreground) serving
// `http`, the body of its http block. Checked with `nginx -t` first (throws with nginx's
// complaint). Stop the process with SIGQUIT: its workers go with the master.
export function startNginx(dir, http) {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${http}
}
`);
  const args = ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
  const t = spawnSync(NGINX, ['-t', ...args], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`nginx -t: ${t.stderr}`);
  return spawn(NGINX, args, { stdio: 'ignore' });
}

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A throwaway redis-server (shared/TESTING.md "Redis 7"); start() again reuses its port.
export async function redisServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hype-redis-'));
  let proc = null;
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
  const r = {
    port,
    cli,
    async start() {
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        if (cli('PING').stdout.trim() === 'PONG') return;
        await sleep(50);
      }
      throw new Error('redis-server did not start');
    },
    freeze() { proc.kill('SIGSTOP'); },  // unreachable, its data kept
    thaw() { proc.kill('SIGCONT'); },
    async stop() {
      if (!proc) return;
      proc.kill('SIGKILL');
      await new Promise((res) => (proc.exitCode !== null || proc.signalCode ? res() : proc.once('exit', res)));
      proc = null;
    },
    async close() {
      await r.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  return r;
}
