// A small cluster for e2e tests and benches: a throwaway redis-server and `hype serve` nodes
// with roles (SFU-only nodes, an api+gateway node serving the web client), all on loopback.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startHype } from './server.mjs';

export const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

/** A redis-server on a free port without persistence; stop() kills it. */
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hype-e2e-redis-'));
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
  let proc;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && cli('PING').stdout.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 50));
  };
  const kill = async () => {
    const gone = new Promise((r) => (proc.exitCode !== null || proc.signalCode ? r() : proc.once('exit', r)));
    proc.kill('SIGKILL');
    await gone;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    cli,
    /** Killed and started again on the same port, empty (no persistence): a crash. */
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The voice-token public key `hype keys` prints for `voiceKey` (given to SFU-only nodes). */
export function voicePublicKey(bin, voiceKey) {
  const dir = mkdtempSync(join(tmpdir(), 'hype-keys-'));
  try {
    const r = spawnSync(bin, ['keys'], { env: { ...process.env, HYPE_SERVER_DATA_DIR: dir, HYPE_AUTH_VOICE_KEY: voiceKey }, encoding: 'utf8', timeout: 10000 });
    const m = /voice_public_key = "([A-Za-z0-9_-]{43})"/.exec(r.stdout);
    if (!m) throw new Error(`hype keys: ${r.stderr}`);
    return m[1];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Redis, `sfuNodes` SFU-only nodes (node-1..N, one worker each) and one api+gateway node
 * (node-9, serving the web client) in voice mode `mode`. Returns {redis, api, sfu: {id: node},
 * stop()}; each node is startHype's {url, pid, stop}.
 */
export async function startCluster({ sfuNodes = 2, mode = 'sfu', env = {} } = {}) {
  const bin = process.env.HYPE_BIN;
  const voiceKey = 'e2e-cluster-voice-key-0123456789abcdef';
  const redis = await startRedis();
  const started = [];
  try {
    const publicKey = voicePublicKey(bin, voiceKey);
    const sfu = {};
    for (let i = 1; i <= sfuNodes; i++) {
      const node = await startHype({
        own: true,
        env: { HYPE_SERVER_ROLES: 'sfu', HYPE_SERVER_NODE_ID: String(i), HYPE_CLUSTER_REDIS_URL: redis.url, HYPE_AUTH_VOICE_PUBLIC_KEY: publicKey, HYPE_SFU_WORKERS: '1', HYPE_SFU_PORT: String(await freePort()), ...env },
      });
      started.push(node);
      sfu[`node-${i}`] = node;
    }
    const api = await startHype({
      own: true,
      env: { HYPE_SERVER_ROLES: 'api,gateway', HYPE_SERVER_NODE_ID: '9', HYPE_CLUSTER_REDIS_URL: redis.url, HYPE_AUTH_VOICE_KEY: voiceKey, HYPE_VOICE_MODE: mode, ...env },
    });
    started.push(api);
    for (let i = 0; i < 100; i++) {
      const n = redis.cli('ZCARD', 'hype:{sfu}:nodes').stdout.trim();
      if (Number(n) >= sfuNodes) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      redis,
      api,
      sfu,
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => {});
        await redis.stop();
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    await redis.stop();
    throw e;
  }
}
