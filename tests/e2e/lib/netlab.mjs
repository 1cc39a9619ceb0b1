// hype-netlab from the e2e tests and benchmarks: the relay binary beside HYPE_BIN (or
// HYPE_NETLAB_BIN), started on a port, stopped by PID with its final stats line.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The relay binary (read when called: scripts may set HYPE_BIN after importing this). */
export const netlabBin = () => process.env.HYPE_NETLAB_BIN ?? (process.env.HYPE_BIN ? join(dirname(process.env.HYPE_BIN), '..', 'netlab', 'hype-netlab') : '');
/** A reason to skip relay tests, or false. */
export const netlabSkip = !netlabBin() ? 'HYPE_BIN not set' : !existsSync(netlabBin()) ? `hype-netlab not built (${netlabBin()})` : false;

/** A UDP port free right now (the kernel's pick); the SFU and the relay need fixed ones. */
export async function freeUdpPort(avoid = []) {
  for (;;) {
    const s = createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    const { port } = s.address();
    await new Promise((r) => s.close(r));
    if (!avoid.includes(port)) return port;
  }
}

/**
 * Starts `hype-netlab --listen 127.0.0.1:listen --upstream 127.0.0.1:upstream` with one spec
 * both ways. Resolves once it listens, with {listening, stop()}; stop() resolves with the
 * relay's `final` stats line (or null when it had already exited).
 */
export async function startRelay({ listen, upstream, up, down = up, seed = 1 }) {
  const proc = spawn(netlabBin(), ['--listen', `127.0.0.1:${listen}`, '--upstream', `127.0.0.1:${upstream}`, '--up', up, '--down', down, '--seed', String(seed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const lines = () =>
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('hype-netlab did not start: ' + err)), 10_000);
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hype-netlab exited ${code}: ${err}`));
    });
  });
  return {
    pid: proc.pid,
    listening: lines()[0],
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return null;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      return lines().find((l) => l.event === 'final') ?? null;
    },
  };
}
