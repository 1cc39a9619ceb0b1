// Starts a throwaway `hype serve` (and optionally coturn) for scripts that run outside
// run.sh (screenshots, benchmarks): free ports, a temp dir, stopped by PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

const ROOT = resolve(new URL('../../..', import.meta.url).pathname);

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

function stopped(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[0];
    return st === 'Z';
  } catch {
    return true;
  }
}

async function stopPid(pid) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && !stopped(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (!stopped(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Returns {url, turn, stop()} ; uses HYPE_URL as is when set (a server you started), unless
 * `own` is set: then it always starts its own server, with `env` added to its environment
 * (e.g. HYPE_VOICE_MODE=sfu for the SFU tests), listening on `host`.
 */
export async function startHype({ bin = process.env.HYPE_BIN, withTurn = false, own = false, host = '127.0.0.1', env: extraEnv = {} } = {}) {
  if (process.env.HYPE_URL && !own) return { url: process.env.HYPE_URL, stop: async () => {} };
  if (!bin) throw new Error('set HYPE_BIN (the hype binary) or HYPE_URL (a running server)');
  const dir = mkdtempSync(join(tmpdir(), 'hype-web-'));
  const pids = [];
  const env = {
    ...process.env,
    // host: e.g. a netns lab hub (10.X.0.1) that clients in namespaces reach as well.
    HYPE_SERVER_HOST: host,
    HYPE_SERVER_PORT: String(await freePort()),
    HYPE_SERVER_DATA_DIR: join(dir, 'data'),
    HYPE_SERVER_WEB_ROOT: join(ROOT, 'web/dist'),
    HYPE_LIMITS_ENABLED: 'false',
    HYPE_AUTH_ARGON2_MEM_KIB: '8192',
    HYPE_AUTH_ARGON2_OPS: '1',
    ...extraEnv,
  };
  let turn;
  if (withTurn) {
    const port = await freePort();
    const secret = randomBytes(16).toString('hex');
    const min = 40000 + Math.floor(Math.random() * 20000);
    writeFileSync(
      join(dir, 'turnserver.conf'),
      [
        'listening-ip=127.0.0.1',
        'relay-ip=127.0.0.1',
        `listening-port=${port}`,
        `min-port=${min}`,
        `max-port=${min + 200}`,
        'realm=hype.test',
        'use-auth-secret',
        `static-auth-secret=${secret}`,
        'no-tls',
        'no-dtls',
        'no-cli',
        'allow-loopback-peers',
        'fingerprint',
        `userdb=${join(dir, 'turndb')}`,
        `log-file=${join(dir, 'turn.log')}`,
        'simple-log',
      ].join('\n'),
    );
    const t = spawn('turnserver', ['-c', join(dir, 'turnserver.conf')], { stdio: 'ignore' });
    pids.push(t.pid);
    turn = `turn:127.0.0.1:${port}`;
    env.HYPE_TURN_SECRET = secret;
    env.HYPE_TURN_URLS = turn;
  }
  const { mkdirSync } = await import('node:fs');
  mkdirSync(env.HYPE_SERVER_DATA_DIR, { recursive: true });
  const log = openSync(join(dir, 'server.log'), 'w');
  const srv = spawn(bin, ['serve'], { env, stdio: ['ignore', log, log] });
  pids.push(srv.pid);
  const url = `http://${host}:${env.HYPE_SERVER_PORT}`;
  const stop = async () => {
    for (const pid of pids.reverse()) await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return { url, turn, stop, pid: srv.pid, log: () => readFileSync(join(dir, 'server.log'), 'utf8') };
    } catch {
      /* not up yet */
    }
    if (stopped(srv.pid)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const text = readFileSync(join(dir, 'server.log'), 'utf8');
  await stop();
  throw new Error('hype did not become ready:\n' + text.slice(-2000));
}
