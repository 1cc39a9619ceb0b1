// The netns lab (scripts/netns-lab, tests/e2e/lib/netns_lab.mjs) shapes what it says: a UDP
// sender overdrives (8 Mbit/s) a client namespace whose downlink tbf allows 2 Mbit/s, and the
// receiver inside gets 2 Mbit/s (+-15 %); `set` to 5 Mbit/s lets 5 through without the change
// itself losing a queued packet (sent = received + tail drops); a schedule applies its step on
// time (log and throughput, +-300 ms); the uplink is shaped the same way the other direction;
// afterwards no namespace, veth or hub address of the test is left. Needs root and ip netns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsLab, netnsSkip } from '../e2e/lib/netns_lab.mjs';
import { udpSink, udpSource } from '../e2e/lib/udp_probe.mjs';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), '..', 'e2e', 'lib', 'udp_probe.mjs');
const NET = '10.86';
const SIZE = 1200; // payload; tbf counts 1242 bytes a packet (UDP 8 + IP 20 + Ethernet 14)
const WIRE = (SIZE + 42) / SIZE;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A sink inside the namespace (node udp_probe.mjs rx): bins as they come, stop() -> total. */
async function sinkIn(client, port) {
  const p = client.spawn(process.execPath, [PROBE, 'rx', client.ip, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const bins = [];
  let total = null;
  let buf = '';
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const ready = new Promise((res, rej) => {
    p.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const o = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (o.listening) res();
        else if (o.total) total = o.total;
        else bins.push(o);
      }
    });
    p.on('exit', (c) => rej(new Error(`sink exited ${c}: ${err}`)));
  });
  await ready;
  return {
    bins,
    async stop() {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
      return total;
    },
  };
}

/** Payload Mbit/s over the bins whose end lies in (from, to]. */
function mbps(bins, from, to) {
  const sel = bins.filter((b) => b.t > from && b.t <= to);
  const bytes = sel.reduce((s, b) => s + b.bytes, 0);
  return (bytes * 8) / ((sel.length * 100) / 1000) / 1e6;
}

// No server or database is involved: the PostgreSQL pass of scripts/test skips it.
const skip = netnsSkip || (process.env.HYPE_TEST_DATABASE_URL && 'no database involved: runs in the SQLite pass only');

describe('netns lab: tc shaping per client namespace', { skip, timeout: 90_000 }, () => {
  const lab = netnsLab(`it${process.pid}-`);
  let c;

  before(async () => {
    await lab.destroyAll();
    c = await lab.client('rx', { net: NET, down: '2mbit', up: '2mbit' });
  });
  after(async () => {
    await lab.destroyAll();
  });

  // Overdrives the downlink at 8 Mbit/s for `secs`; measures after a 1 s warm-up (the queue
  // fills in about 50 ms) until 200 ms before the end (the queue drains after).
  async function downlink(secs = 3.5) {
    const sink = await sinkIn(c, 5001);
    const drops0 = c.show().stats.down.drops;
    const t0 = Date.now();
    const sent = await udpSource(c.ip, 5001, 8e6, secs, SIZE);
    const t1 = Date.now();
    await sleep(400);
    const total = await sink.stop();
    const drops = c.show().stats.down.drops - drops0;
    return { rate: mbps(sink.bins, t0 + 1000, t1 - 200), sent: sent.sent, received: total.pkts, drops };
  }

  it('a 2 Mbit/s downlink carries 2 Mbit/s of an 8 Mbit/s flood', async (t) => {
    const r = await downlink();
    t.diagnostic(`2mbit: goodput ${r.rate.toFixed(3)} Mbit/s (on the wire ${(r.rate * WIRE).toFixed(3)}); sent ${r.sent}, received ${r.received}, tail drops ${r.drops}`);
    assert.ok(Math.abs(r.rate - 2) <= 0.3, `goodput ${r.rate.toFixed(3)} Mbit/s, want 2 +- 15 %`);
    assert.equal(r.received + r.drops, r.sent, 'every packet sent was delivered or tail-dropped by tbf');
  });

  it('set 5 Mbit/s: 5 get through, and the change drops nothing queued', async (t) => {
    // The change happens with the queue full (the flood is running): nothing may vanish.
    const sink = await sinkIn(c, 5002);
    const drops0 = c.show().stats.down.drops;
    const src = udpSource(c.ip, 5002, 8e6, 4.5, SIZE);
    await sleep(1000);
    const tSet = Date.now();
    c.set({ down: '5mbit' });
    await src;
    const t1 = Date.now();
    await sleep(400);
    const total = await sink.stop();
    const drops = c.show().stats.down.drops - drops0;
    const sent = (await src).sent;
    const before = mbps(sink.bins, tSet - 800, tSet);
    const rate = mbps(sink.bins, tSet + 500, t1 - 200);
    t.diagnostic(`before set ${before.toFixed(3)} Mbit/s, after ${rate.toFixed(3)} (wire ${(rate * WIRE).toFixed(3)}); sent ${sent}, received ${total.pkts}, tail drops ${drops}`);
    assert.ok(Math.abs(rate - 5) <= 0.75, `goodput ${rate.toFixed(3)} Mbit/s after set, want 5 +- 15 %`);
    assert.equal(total.pkts + drops, sent, 'the change lost no packet outside tail drops');
    assert.equal(c.show().down.rate_bps, 5_000_000);
  });

  it('a schedule applies its step on time (log and throughput within 300 ms)', async (t) => {
    const sink = await sinkIn(c, 5003);
    const src = udpSource(c.ip, 5003, 8e6, 3.5, SIZE);
    await sleep(300);
    const s = c.schedule('0:2mbit,1500:6mbit');
    await s.done;
    await src;
    await sleep(300);
    await sink.stop();
    const start = s.started().unix_ms;
    const step = s.steps().find((x) => x.at_ms === 1500);
    // The first 100 ms bin that carries more than the midpoint (4 Mbit/s): its end is at most
    // 100 ms after the change.
    const jump = sink.bins.find((b) => b.t > start + 200 && (b.bytes * 8) / 0.1 / 1e6 > 4);
    const seen = jump ? jump.t - start : Infinity;
    t.diagnostic(`step at 1500 ms: applied at ${step.t_ms} ms (log), throughput above 4 Mbit/s in the bin ending ${seen} ms after the start`);
    assert.ok(Math.abs(step.t_ms - 1500) <= 300, `applied at ${step.t_ms} ms`);
    assert.ok(Math.abs(seen - 1500) <= 300, `throughput changed at ${seen} ms`);
    assert.equal(step.rate_bps, 6_000_000);
  });

  it('the uplink is shaped too: 2 Mbit/s from inside the namespace', async (t) => {
    const bins = [];
    const sink = await udpSink(c.hub, 0, (b) => bins.push(b));
    const drops0 = c.show().stats.up.drops;
    const t0 = Date.now();
    // Asynchronously: the sink's bins are timers of this process.
    const p = c.spawn(process.execPath, [PROBE, 'tx', c.hub, String(sink.port), '8000000', '3.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const code = await new Promise((r) => p.on('exit', r));
    const t1 = Date.now();
    await sleep(400);
    sink.close();
    assert.equal(code, 0);
    const sent = JSON.parse(out.trim()).sent;
    const drops = c.show().stats.up.drops - drops0;
    // The sender's own start inside the namespace (node) takes a moment: warm up 1.5 s.
    const rate = mbps(bins, t0 + 1500, t1 - 300);
    t.diagnostic(`uplink 2mbit: goodput ${rate.toFixed(3)} Mbit/s (wire ${(rate * WIRE).toFixed(3)}); sent ${sent}, received ${sink.total.pkts}, tail drops ${drops}`);
    assert.ok(Math.abs(rate - 2) <= 0.3, `uplink goodput ${rate.toFixed(3)} Mbit/s, want 2 +- 15 %`);
    assert.equal(sink.total.pkts + drops, sent);
  });

  it('cleanup leaves no namespace, veth or hub address behind (and runs twice)', async () => {
    const veth = c.veth_root;
    await lab.destroyAll();
    await lab.destroyAll();
    assert.deepEqual(lab.leftovers(), []);
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    assert.ok(!links.includes(veth + '@') && !links.includes(veth + ':'), `${veth} still exists`);
    // The hub address goes with the last lab namespace on its net (another run may hold one).
    const others = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes('hlab-');
    const lo = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).stdout;
    if (!others) assert.ok(!lo.includes(`${NET}.0.1/32`), `hub ${NET}.0.1 still on lo`);
  });
});
