// A paced UDP source and a counting sink, to measure what a shaped link lets through
// (tests/integration/netns_lab.test.mjs). Usable in-process or as a command, e.g. inside a
// namespace: `ip netns exec NS node udp_probe.mjs rx 10.86.1.2 5000` prints one JSON line
// per 100 ms bin ({t: unix ms at the bin's end, bytes, pkts} of UDP payload) until SIGTERM;
// `node udp_probe.mjs tx HOST PORT BITS_PER_S SECONDS [SIZE]` sends and prints {sent, bytes}.
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

/** Counts datagrams on host:port in 100 ms bins; onBin({t, bytes, pkts}) at each bin's end. */
export async function udpSink(host, port, onBin = () => {}) {
  const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  let bytes = 0;
  let pkts = 0;
  const total = { bytes: 0, pkts: 0 };
  s.on('message', (m) => {
    bytes += m.length;
    pkts++;
    total.bytes += m.length;
    total.pkts++;
  });
  await new Promise((res, rej) => {
    s.once('error', rej);
    s.bind(port, host, res);
  });
  const timer = setInterval(() => {
    onBin({ t: Date.now(), bytes, pkts });
    bytes = 0;
    pkts = 0;
  }, 100);
  return {
    port: s.address().port,
    total,
    close() {
      clearInterval(timer);
      s.close();
    },
  };
}

/**
 * Sends `size`-byte datagrams to host:port at `bps` (payload bits/s) for `seconds`, paced in
 * 5 ms ticks by elapsed time (so a late tick catches up). Resolves with {sent, bytes}.
 */
export async function udpSource(host, port, bps, seconds, size = 1200) {
  const s = createSocket('udp4');
  const buf = Buffer.alloc(size, 0x55);
  const t0 = performance.now();
  let sent = 0;
  await new Promise((res) => {
    const tick = () => {
      const el = performance.now() - t0;
      const due = Math.min(Math.floor((el / 1000) * (bps / (size * 8))), Math.floor(seconds * (bps / (size * 8))));
      while (sent < due) {
        s.send(buf, port, host);
        sent++;
      }
      if (el >= seconds * 1000) res();
      else setTimeout(tick, 5);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 20)); // the last sends leave the socket
  s.close();
  return { sent, bytes: sent * size };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, host, port, bps, seconds, size] = process.argv.slice(2);
  if (mode === 'rx') {
    const sink = await udpSink(host, Number(port), (b) => process.stdout.write(JSON.stringify(b) + '\n'));
    process.stdout.write(JSON.stringify({ listening: sink.port }) + '\n');
    process.on('SIGTERM', () => {
      sink.close();
      process.stdout.write(JSON.stringify({ total: sink.total }) + '\n');
      process.exit(0);
    });
  } else if (mode === 'tx') {
    const r = await udpSource(host, Number(port), Number(bps), Number(seconds), size ? Number(size) : 1200);
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    console.error('usage: udp_probe.mjs rx HOST PORT | tx HOST PORT BITS_PER_S SECONDS [SIZE]');
    process.exit(2);
  }
}
