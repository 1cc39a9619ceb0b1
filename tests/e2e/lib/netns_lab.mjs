// The network-conditions lab with namespaces and tc (scripts/netns-lab) for tests and
// benchmarks: one namespace per client behind a veth pair whose downlink and uplink capacity
// tbf shapes, changed with set() or on a schedule; Chromium or hype-bot run inside one.
// No dependencies beyond Node's own modules (the integration tests import it too); Chromium
// comes from ./browser.mjs, imported only when launchChromiumIn() is called.
//
//   const lab = netnsLab('it123-');                 // every client name starts with the prefix
//   const c = await lab.client('rx', { net: '10.86', down: '2mbit', up: '2mbit' });
//   c.ip, c.hub                                     // 10.86.I.2 (inside), 10.86.0.1 (root side, on lo)
//   c.set({ down: '5mbit' }); const s = c.schedule('0:2mbit,1500:6mbit');  // s.steps(), s.stop()
//   c.spawn('node', ['x.mjs']);  await lab.destroyAll();
//
// A server the clients must reach listens on (or announces) c.hub: it is local to the root
// namespace, so the root namespace reaches it too and nothing is forwarded.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const NETNS_LAB = join(ROOT, 'scripts', 'netns-lab');

/** A reason to skip namespace tests, or false. */
export const netnsSkip =
  process.getuid?.() !== 0
    ? 'needs root (ip netns, tc)'
    : spawnSync('ip', ['netns', 'list']).status !== 0
      ? '`ip netns` is unavailable'
      : spawnSync('sh', ['-c', 'command -v tc']).status !== 0
        ? 'tc (iproute2) is not installed'
        : false;

/** Runs scripts/netns-lab; returns its parsed JSON output (or the raw text). Throws on failure. */
export function netnsLabCmd(args, { dir } = {}) {
  const r = spawnSync(NETNS_LAB, [...args, ...(dir ? ['--dir', dir] : [])], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`scripts/netns-lab ${args.join(' ')}: ${r.stderr || r.error}`);
  const out = r.stdout.trim();
  try {
    return out ? JSON.parse(out) : null;
  } catch {
    return out;
  }
}

/** A rate for the script: a number is bit/s; a string is tc's syntax ('2mbit'). */
const rate = (r) => (typeof r === 'number' ? `${Math.round(r)}bit` : String(r));

/**
 * The clients of one test or benchmark: every name starts with `prefix`, so destroyAll()
 * removes these and nothing else (idempotent; call it in `after` and before starting too).
 */
export function netnsLab(prefix, { dir } = {}) {
  const clients = new Set();
  const lab = {
    prefix,
    /** Brings up namespace hlab-<prefix><name>; resolves with a client handle. */
    async client(name, { net = '10.88', down = '10mbit', up = down, queueMs, burst, limit } = {}) {
      const full = prefix + name;
      const args = ['up', full, '--net', net, '--down-rate', rate(down), '--up-rate', rate(up)];
      if (queueMs) args.push('--queue-ms', String(queueMs));
      if (burst) args.push('--burst', String(burst));
      if (limit) args.push('--limit', String(limit));
      const c = makeClient(full, netnsLabCmd(args, { dir }), dir);
      clients.add(c);
      return c;
    },
    async destroyAll() {
      for (const c of clients) await c.closeBrowsers();
      clients.clear();
      netnsLabCmd(['down-all', '--prefix', prefix], { dir });
    },
    /** Namespaces of this prefix still present (a test asserts this is empty at the end). */
    leftovers() {
      const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
      return ns
        .split('\n')
        .map((l) => l.split(' ')[0])
        .filter((n) => n.startsWith('hlab-' + prefix));
    },
  };
  return lab;
}

function makeClient(name, info, dir) {
  const browsers = new Set();
  const c = {
    ...info, // name, netns, net, hub, ip, root_ip, veth_root, veth_ns, down, up
    name,
    /** Changes the capacity now (tc qdisc change: packets already queued stay). */
    set({ down, up, queueMs } = {}) {
      const args = ['set', name];
      if (down) args.push('--down-rate', rate(down));
      if (up) args.push('--up-rate', rate(up));
      if (queueMs) args.push('--queue-ms', String(queueMs));
      const r = netnsLabCmd(args, { dir });
      Object.assign(c, { down: r.down, up: r.up });
      return r;
    },
    /** The lab's view: shaping and tc counters (bytes, packets, drops, backlog) per direction. */
    show() {
      return netnsLabCmd(['show', name], { dir });
    },
    /**
     * Runs a schedule ("AT_MS:RATE[:DIR],..." or an array of [at, rate, dir]) in a child
     * process from now. steps() are the applied steps so far ({at_ms, t_ms, dir, rate_bps,
     * unix_ms}); done resolves when it finished; stop() ends it early.
     */
    schedule(steps, { rfc8867, timeScale } = {}) {
      const spec = Array.isArray(steps) ? steps.map(([at, r, d = 'down']) => `${at}:${rate(r)}:${d}`).join(',') : steps;
      const args = [NETNS_LAB, 'schedule', name, ...(spec ? ['--steps', spec] : [])];
      if (rfc8867) args.push('--rfc8867', rfc8867 === true ? 'down' : rfc8867);
      if (timeScale) args.push('--time-scale', String(timeScale));
      if (dir) args.push('--dir', dir);
      const proc = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      proc.stdout.on('data', (d) => (out += d));
      proc.stderr.on('data', (d) => (err += d));
      const lines = () =>
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      const done = new Promise((res, rej) =>
        proc.on('exit', (code, sig) => (code === 0 || sig ? res(lines()) : rej(new Error(`netns-lab schedule: ${err}`)))),
      );
      return {
        pid: proc.pid,
        done,
        started: () => lines().find((l) => l.event === 'start'),
        steps: () => lines().filter((l) => l.event === 'step'),
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await done.catch(() => {});
        },
      };
    },
    /** A process inside the namespace (`ip netns exec` execs it: the pid is the command's). */
    spawn(cmd, args = [], opts = {}) {
      return spawn('ip', ['netns', 'exec', info.netns, cmd, ...args], opts);
    },
    /**
     * hype-bot inside the namespace (binary: HYPE_BOT_BIN or beside HYPE_BIN); `server` must be
     * an address the namespace reaches (the hub). Returns the child process.
     */
    spawnBot(server, args = [], opts = {}) {
      const bin = process.env.HYPE_BOT_BIN ?? join(dirname(process.env.HYPE_BIN ?? join(ROOT, 'build/release/src/app/hype')), '..', 'bot', 'hype-bot');
      return c.spawn(bin, ['--server', server, ...args], opts);
    },
    /**
     * Chromium inside the namespace: playwright launches an executable over a pipe (fds 3
     * and 4), and a wrapper that execs `ip netns exec NS chromium "$@"` keeps those fds and
     * the pid. `origins` are treated as secure (getUserMedia needs a secure context and
     * http://10.X.0.1 is not one). Uses ./browser.mjs's flags.
     */
    async launchChromium({ origins = [], args = [] } = {}) {
      const { launch } = await import('./browser.mjs');
      const wdir = mkdtempSync(join(tmpdir(), 'hype-netns-chromium-'));
      const wrapper = join(wdir, 'chromium');
      const real = process.env.CHROMIUM ?? '/usr/bin/chromium';
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${info.netns} ${real} "$@"\n`);
      chmodSync(wrapper, 0o755);
      const extra = origins.length ? [`--unsafely-treat-insecure-origin-as-secure=${origins.join(',')}`] : [];
      const browser = await launch({ executablePath: wrapper, args: [...extra, ...args] });
      browsers.add(browser);
      browser.on('disconnected', () => {
        browsers.delete(browser);
        rmSync(wdir, { recursive: true, force: true });
      });
      return browser;
    },
    async closeBrowsers() {
      for (const b of [...browsers]) await b.close().catch(() => {});
    },
    /** Brings this client down (idempotent). */
    async destroy() {
      await c.closeBrowsers();
      netnsLabCmd(['down', name], { dir });
    },
  };
  return c;
}
