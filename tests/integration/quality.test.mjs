// Client quality reports end to end (issue 18 part 1): hype-bots send theirs on /voice while
// one speaker's packets are dropped at the sender; the loss, latency and jitter show in the
// server's histograms, the join funnel counts every stage, and reports on the gateway (P2P
// calls) are validated and bounded like those on /voice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startServer, register, sleep, api, HYPE_BIN, GatewayClient, promtoolCheck } from './lib.mjs';

const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');
let server;

before(async () => {
  server = await startServer({ HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: '0', HYPE_VOICE_MAX_FORWARDED_SPEAKERS: '8' });
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

async function scrape() {
  return (await fetch(server.url + '/metrics')).text();
}
// The value of one series (name with its labels as written), or the sum over a family.
function value(text, series) {
  let sum = 0, found = false;
  for (const l of text.split('\n')) {
    if (l.startsWith('#')) continue;
    const name = l.slice(0, l.lastIndexOf(' '));
    if (name === series || (!series.includes('{') && name.startsWith(series + '{'))) {
      sum += Number(l.split(' ').pop());
      found = true;
    }
  }
  return found ? sum : undefined;
}

test('bots report what they hear: a lossy speaker shows in voice_packet_loss_ratio, and every join passes the funnel', { skip: !existsSync(BOT_BIN) && 'hype-bot not built' }, async () => {
  const before = await scrape();
  assert.equal(value(before, 'sfu_node_health'), 1);
  assert.match(before, /\nhype_node_info\{node="node-\d+",region="local"\} 1\n/);
  // 5 bots, 4 speaking, each speaker dropping every 10th packet it sends: listeners lose
  // 10 %. The fifth only listens: its RTCP receiver reports are its first media packet.
  const { code, report } = await runBots(['--count', '5', '--speakers', '4', '--duration', '13', '--report-every', '5', '--audio-drop-every', '10']);
  assert.deepEqual(report.errors, []);
  assert.equal(code, 0);
  assert.equal(report.connected, 5);
  assert.ok(report.quality_reports_sent >= 5, `sent ${report.quality_reports_sent}`);
  assert.equal(report.quality_reports_refused, 0);
  const text = await scrape();
  const reports = value(text, 'voice_quality_reports_total{result="accepted"}');
  assert.equal(reports, report.quality_reports_sent);
  const count = value(text, 'voice_packet_loss_ratio_count');
  const sum = value(text, 'voice_packet_loss_ratio_sum');
  assert.ok(count >= 3 * reports - 4, `loss observations ${count} for ${reports} reports of 3 streams`);
  const mean = sum / count;
  assert.ok(mean > 0.07 && mean < 0.13, `mean loss ${mean}, expected about 0.1`);
  // With loss above 5 %, the 0.05 bucket holds (almost) nothing.
  assert.ok(value(text, 'voice_packet_loss_ratio_bucket{le="0.05"}') <= count * 0.1);
  // Latency: one observation per stream per report (the bots' one-way delay plus the frame
  // and playout allowance: at least 30 ms).
  const lat = value(text, 'voice_latency_seconds_count');
  assert.equal(lat, count);
  assert.ok(value(text, 'voice_latency_seconds_sum') / lat >= 0.03);
  assert.equal(value(text, 'voice_jitter_seconds_count'), count);
  assert.ok(value(text, 'voice_bitrate_bytes_per_second_sum') / value(text, 'voice_bitrate_bytes_per_second_count') > 1000);
  // The join funnel: every bot signaled, connected, and sent media (the listener too).
  for (const stage of ['signaled', 'ice_connected', 'first_packet'])
    assert.ok(value(text, `voice_join_funnel_total{stage="${stage}"}`) >= 5, stage);
  assert.ok(value(text, 'voice_joins_total') >= 5);
  assert.ok(value(text, 'sfu_node_memory_bytes') > 1e6);
  const cpu = value(text, 'sfu_node_cpu_ratio');
  assert.ok(cpu >= 0 && cpu <= 1, `cpu ratio ${cpu}`);
  const lint = promtoolCheck(text);
  if (lint !== undefined) assert.equal(lint, null);
});

test('P2P quality reports on the gateway: accepted, refused when malformed or out of bounds, and spaced', async () => {
  const u = await register(server, 'q');
  const g = new GatewayClient(server, u.token);
  await g.connect();
  const before = await scrape();
  const accepted0 = value(before, 'voice_quality_reports_total{result="accepted"}') ?? 0;
  const rejected0 = value(before, 'voice_quality_reports_total{result="rejected"}') ?? 0;
  const errors0 = value(before, 'voice_errors_total{kind="report_rejected"}') ?? 0;
  const lossCount0 = value(before, 'voice_packet_loss_ratio_count') ?? 0;
  const good = { interval_s: 10, mode: 'p2p', audio_in: [{ packets_received: 490, packets_lost: 10, jitter_s: 0.003, rtt_s: 0.05 }] };
  g.send({ op: 'quality', d: good });
  g.send({ op: 'quality', d: good }); // within 4 s of the first
  const limited = await g.waitFor((f) => f.op === 'error');
  assert.equal(limited.d.code, 'rate_limited');
  const g2 = new GatewayClient(server, u.token);
  await g2.connect();
  g2.send({ op: 'quality', d: { ...good, audio_in: [{ packets_received: 'many', packets_lost: 0 }] } });
  const bad = await g2.waitFor((f) => f.op === 'error');
  assert.equal(bad.d.code, 'invalid_report');
  assert.match(bad.d.message, /audio_in\[0\]\.packets_received/);
  const g3 = new GatewayClient(server, u.token);
  await g3.connect();
  g3.send({ op: 'quality', d: { ...good, interval_s: 100000 } });
  assert.equal((await g3.waitFor((f) => f.op === 'error')).d.code, 'invalid_report');
  await sleep(100);
  const after = await scrape();
  assert.equal(value(after, 'voice_quality_reports_total{result="accepted"}') - accepted0, 1);
  assert.equal(value(after, 'voice_quality_reports_total{result="rejected"}') - rejected0, 3);
  assert.equal(value(after, 'voice_errors_total{kind="report_rejected"}') - errors0, 3);
  assert.equal(value(after, 'voice_packet_loss_ratio_count') - lossCount0, 1);
  // A refused voice join counts as a voice error.
  const denied0 = value(after, 'voice_errors_total{kind="join_denied"}') ?? 0;
  const r = await api(server, 'POST', '/voice/join/123456789', { token: u.token });
  assert.ok(r.status >= 400 && r.status < 500, `join status ${r.status}`);
  assert.equal(value(await scrape(), 'voice_errors_total{kind="join_denied"}') - denied0, 1);
  // The sessions survived their refused reports.
  g.send({ op: 'heartbeat' });
  await g.waitFor((f) => f.op === 'heartbeat_ack');
  await Promise.all([g.close(), g2.close(), g3.close()]);
});
