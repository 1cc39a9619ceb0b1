// Structured logs and traces (issue 18 part 6): the server runs with log.format = json and an
// OTLP/HTTP endpoint served by this test. Every voice join made by hype-bots arrives as one
// linked trace (REST join -> voice.place, REST join -> sfu.identify -> sfu.ice_connected and
// sfu.first_packet); a REST request's traceparent header is continued and returned; a
// malformed one starts a new trace; a gateway identify's traceparent is continued; every
// stderr line of the server is a JSON object.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startServer, register, sleep, api, HYPE_BIN, GatewayClient } from './lib.mjs';

const BOT_BIN = process.env.HYPE_BOT_BIN ?? join(dirname(HYPE_BIN), '..', 'bot', 'hype-bot');
const skip = !existsSync(BOT_BIN) && 'hype-bot not built';
const JOIN = 'POST /api/v1/voice/join/:id';
let server;
let collector;
const spans = [];
let posts = 0;

before(async () => {
  // A minimal OTLP/HTTP JSON receiver: keeps every span of every POST /v1/traces.
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      posts++;
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(400).end();
        return;
      }
      for (const rs of JSON.parse(body).resourceSpans)
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service: rs.resource.attributes });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => collector.listen(0, '127.0.0.1', r));
  server = await startServer({
    HYPE_VOICE_MODE: 'sfu', HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: '0',
    HYPE_LOG_LEVEL: 'info', HYPE_LOG_FORMAT: 'json',
    HYPE_TELEMETRY_OTLP_ENDPOINT: `http://127.0.0.1:${collector.address().port}/v1/traces`,
  });
});
after(async () => {
  await server?.stop();
  collector?.close();
});

function runBots(args) {
  return new Promise((resolve, reject) => {
    execFile(BOT_BIN, ['--server', server.url, '--json', ...args], { timeout: 120000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop();
      try { resolve({ code: err?.code ?? 0, report: JSON.parse(line) }); } catch { reject(new Error(`bot failed: ${stderr} ${stdout}`)); }
    });
  });
}

async function waitFor(pred, ms = 15000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}

test('every voice join is one linked trace: REST join, placement, /voice identify, ICE connected, first packet', { skip }, async () => {
  const { code, report } = await runBots(['--count', '3', '--speakers', '1', '--duration', '3', '--report-every', '0']);
  assert.equal(code, 0);
  assert.equal(report.connected, 3);
  const byTrace = () => {
    const m = new Map();
    for (const s of spans) m.set(s.traceId, [...(m.get(s.traceId) ?? []), s]);
    return m;
  };
  const complete = (list) => ['voice.place', 'sfu.identify', 'sfu.ice_connected', 'sfu.first_packet'].every((n) => list.some((s) => s.name === n));
  // The exporter posts once a second.
  assert.ok(await waitFor(() => [...byTrace().values()].filter((l) => l.some((s) => s.name === JOIN) && complete(l)).length >= 3),
    `spans: ${JSON.stringify(spans.map((s) => [s.traceId.slice(0, 6), s.name]))}`);
  for (const list of byTrace().values()) {
    const join = list.find((s) => s.name === JOIN);
    if (!join) continue;
    const one = (name) => {
      const found = list.filter((s) => s.name === name);
      assert.equal(found.length, 1, `${name} in trace ${join.traceId}: ${found.length}`);
      return found[0];
    };
    assert.equal(join.kind, 2);
    assert.ok(join.attributes.some((a) => a.key === 'http.response.status_code' && a.value.stringValue === '200'));
    const place = one('voice.place');
    const identify = one('sfu.identify');
    assert.equal(place.parentSpanId, join.spanId);
    assert.equal(identify.parentSpanId, join.spanId);
    for (const name of ['sfu.ice_connected', 'sfu.first_packet']) {
      const s = one(name);
      assert.equal(s.parentSpanId, identify.spanId, name);
      assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano), name);
      assert.ok(BigInt(s.startTimeUnixNano) >= BigInt(join.startTimeUnixNano), `${name} starts after the join`);
    }
    for (const s of list) assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.match(join.traceId, /^[0-9a-f]{32}$/);
    assert.ok(join.service.some((a) => a.key === 'service.name' && a.value.stringValue === 'hype'));
  }
  const metrics = await (await fetch(server.url + '/metrics')).text();
  const exported = Number(metrics.match(/\ntrace_spans_exported_total (\S+)/)?.[1]);
  assert.ok(exported >= 15, `exported ${exported}`);
});

test('a REST traceparent header is continued and returned; a malformed one starts a new trace', async () => {
  const u = await register(server, 'trace');
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const r = await api(server, 'GET', '/auth/me', { token: u.token, headers: { traceparent: parent } });
  assert.equal(r.status, 200);
  const back = r.headers.get('traceparent');
  assert.match(back, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(back.split('-')[2], '00f067aa0ba902b7');  // the server's own span
  assert.ok(await waitFor(() => spans.some((s) => s.spanId === back.split('-')[2])));
  const span = spans.find((s) => s.spanId === back.split('-')[2]);
  assert.equal(span.name, 'GET /api/v1/auth/me');
  assert.equal(span.parentSpanId, '00f067aa0ba902b7');

  const bad = await api(server, 'GET', '/auth/me', { token: u.token, headers: { traceparent: '00-XYZ-not-a-trace' } });
  assert.equal(bad.status, 200);  // never an error
  const fresh = bad.headers.get('traceparent');
  assert.match(fresh, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.ok(await waitFor(() => spans.some((s) => s.spanId === fresh.split('-')[2])));
  assert.equal(spans.find((s) => s.spanId === fresh.split('-')[2]).parentSpanId, undefined);
});

test('a gateway identify continues its traceparent; a refused one is an error span', async () => {
  const u = await register(server, 'gwtrace');
  const parent = '00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-01';
  const gw = new GatewayClient(server, null);
  await gw.connect();
  gw.send({ op: 'identify', d: { token: u.token, traceparent: parent } });
  await gw.waitFor((f) => f.t === 'READY');
  assert.ok(await waitFor(() => spans.some((s) => s.name === 'gateway.identify' && s.parentSpanId === '10f067aa0ba902b7')));
  const ok = spans.find((s) => s.name === 'gateway.identify' && s.parentSpanId === '10f067aa0ba902b7');
  assert.equal(ok.traceId, '5bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(ok.status.code, 1);
  await gw.close();

  const bad = new GatewayClient(server, null);
  await bad.connect();
  bad.send({ op: 'identify', d: { token: 'not-a-token', traceparent: '00-6bf92f3577b34da6a3ce929d0e0e4736-20f067aa0ba902b7-01' } });
  assert.equal((await bad.closed).code, 4004);
  assert.ok(await waitFor(() => spans.some((s) => s.name === 'gateway.identify' && s.parentSpanId === '20f067aa0ba902b7')));
  assert.equal(spans.find((s) => s.parentSpanId === '20f067aa0ba902b7').status.code, 2);
});

test('with log.format = json every line the server wrote is one JSON object', async () => {
  const lines = server.stderr().split('\n').filter((l) => l.length > 0);
  assert.ok(lines.length > 3, `only ${lines.length} lines`);
  for (const l of lines) {
    const o = JSON.parse(l);
    assert.equal(typeof o.msg, 'string');
    assert.ok(['trace', 'debug', 'info', 'warning', 'error', 'critical'].includes(o.level), o.level);
    assert.match(o.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  assert.ok(posts > 0);
});
