// The impairment lab (issue 19 item 1): hype-bots reach the SFU through hype-netlab (the SFU
// announces the relay's port in its ICE candidates), first on the clean profile, then on
// "mobile" (50 ms / 20 ms / 2 % each way). On mobile they still connect, lose packets and
// hear later; the relay reports what it dropped and its own CPU time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startServer, HYPE_BIN } from './lib.mjs';

const BUILD_SRC = join(dirname(HYPE_BIN), '..');
const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(BUILD_SRC, 'bot', 'hype-bot');
const NETLAB_BIN = process.env.HYPE_NETLAB_BIN ?? join(BUILD_SRC, 'netlab', 'hype-netlab');
const missing = (!existsSync(BOT_BIN) && 'hype-bot not built') || (!existsSync(NETLAB_BIN) && 'hype-netlab not built');

// A UDP port free right now (the kernel's pick); the SFU and the relay need fixed ones.
async function freeUdpPort() {
  const s = createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

let server, sfuPort, relayPort;
before(async () => {
  if (missing) return;
  sfuPort = await freeUdpPort();
  do relayPort = await freeUdpPort(); while (relayPort === sfuPort);
  server = await startServer({
    HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(sfuPort),
    HYPE_SFU_ANNOUNCED_PORT: String(relayPort),
  });
});
after(async () => { await server?.stop(); });

// Starts the relay; resolves once it listens. stop() resolves with its final stats line.
async function startRelay(profile) {
  const proc = spawn(NETLAB_BIN, ['--listen', `127.0.0.1:${relayPort}`, '--upstream', `127.0.0.1:${sfuPort}`,
    '--up', profile, '--down', profile, '--seed', '7'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const lines = () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('relay did not start: ' + err)), 10000);
    proc.stdout.on('data', (d) => { out += d; if (out.includes('"listening"')) { clearTimeout(timer); resolve(); } });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`relay exited ${code}: ${err}`)); });
  });
  return {
    listening: lines()[0],
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      return lines().find((l) => l.event === 'final');
    },
  };
}

function runBots() {
  return new Promise((resolve, reject) => {
    execFile(BOT_BIN, ['--server', server.url, '--json', '--count', '3', '--speakers', '1', '--duration', '5'], { timeout: 60000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop();
      try { resolve({ code: err?.code ?? 0, report: JSON.parse(line), stderr }); } catch { reject(new Error(`bot failed: ${stderr} ${stdout}`)); }
    });
  });
}

async function session(profile) {
  const relay = await startRelay(profile);
  let bots;
  try { bots = await runBots(); } finally { var stats = await relay.stop(); }
  return { listening: relay.listening, ...bots, stats };
}

test('hype-bots through hype-netlab: clean, then mobile adds loss and delay', { skip: missing }, async (t) => {
  const clean = await session('clean');
  assert.deepEqual(clean.report.errors, [], clean.stderr);
  assert.equal(clean.code, 0);
  assert.equal(clean.report.connected, 3);
  // Every bot's media went through the relay: one flow (5-tuple to the SFU) per bot.
  assert.equal(clean.stats.flows, 3);
  assert.ok(clean.stats.up.in > 100 && clean.stats.down.in > 200, JSON.stringify(clean.stats));
  assert.equal(clean.stats.up.dropped + clean.stats.down.dropped, 0);
  assert.ok(clean.stats.cpu_s.total >= 0 && clean.stats.cpu_us_per_packet >= 0);

  const mobile = await session('mobile');
  assert.match(mobile.listening.up, /^delay=50,jitter=20,dist=uniform,reorder=0,loss=0.02,/);
  assert.deepEqual(mobile.report.errors, [], mobile.stderr);
  assert.equal(mobile.code, 0);
  assert.equal(mobile.report.connected, 3);
  assert.equal(mobile.stats.flows, 3);
  assert.ok(mobile.stats.up.lost > 0 && mobile.stats.down.lost > 0, JSON.stringify(mobile.stats));
  assert.ok(mobile.stats.up.out + mobile.stats.up.dropped <= mobile.stats.up.in);
  assert.ok(mobile.report.loss_pct > 0, `loss ${mobile.report.loss_pct} %`);
  assert.ok(mobile.report.loss_pct < 20, `loss ${mobile.report.loss_pct} %`);
  for (const [name, r] of [['clean', clean], ['mobile', mobile]])
    t.diagnostic(`${name}: loss ${r.report.loss_pct} %, latency p50 ${r.report.latency_ms_p50} ms p99 ${r.report.latency_ms_p99} ms; relay ${JSON.stringify(r.stats)}`);
  // 50 ms each way plus jitter: at least 40 ms more than clean at the median (loose bound).
  assert.ok(mobile.report.latency_ms_p50 >= clean.report.latency_ms_p50 + 40,
    `latency p50 ${mobile.report.latency_ms_p50} ms vs clean ${clean.report.latency_ms_p50} ms`);
});
