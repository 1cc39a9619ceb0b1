// `hype serve --roles`: a process runs only the roles it is given. Without a flag every role
// runs in one process (the rest of the suite); here an SFU-only node (no database, /voice and
// the node endpoints), an api+gateway node without the SFU (voice stays peer to peer), and
// start-up refusing an unknown role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startServer, api, register, sleep, HYPE_BIN, GatewayClient, voicePublicKeyOf } from './lib.mjs';

const SECRET = 'roles-test-secret-0123456789abcdef';
const VOICE_KEY = 'roles-test-voice-key-0123456789abcdef';

// Opens a WebSocket: {ws, frames, closed()} once open, or {refused: status}.
function openWs(url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const frames = [];
    let closed = null;
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    ws.on('close', (code) => { closed = code; });
    ws.once('unexpected-response', (_req, res) => resolve({ refused: res.statusCode }));
    ws.once('error', () => resolve({ refused: -1 }));
    ws.once('open', () => resolve({
      ws, frames,
      closed: async () => { for (let i = 0; i < 150 && closed === null; i++) await sleep(20); return closed; },
    }));
  });
}

test('--roles sfu serves /voice and the node endpoints, no API, no gateway, no database', async () => {
  const sfu = await startServer({ HYPE_AUTH_TOKEN_SECRET: SECRET, HYPE_SFU_PORT: '0' }, { args: ['--roles', 'sfu'] });
  try {
    assert.equal((await fetch(sfu.url + '/healthz')).status, 200);
    assert.equal((await fetch(sfu.url + '/readyz')).status, 200);
    const metrics = await (await fetch(sfu.url + '/metrics')).text();
    assert.match(metrics, /# TYPE sfu_node_connections gauge/);
    assert.match(metrics, /# TYPE process_resident_memory_bytes gauge/);
    assert.doesNotMatch(metrics, /http_requests_total/, 'no API role, no API metrics');

    const r = await api(sfu, 'POST', '/auth/register', { body: { username: 'nobody', password: 'password123' } });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'not_found');
    assert.match(r.body.error.message, /roles: sfu/);
    assert.equal((await fetch(sfu.url + '/')).status, 404, 'no web client either');

    // A WebSocket path nobody serves is accepted and closed at once with 1008 (net/).
    const gw = await openWs(sfu.url.replace('http', 'ws') + '/gateway');
    assert.equal(await gw.closed(), 1008, 'no gateway on an SFU-only node');
    assert.equal(gw.frames.length, 0);

    const voice = await openWs(sfu.url.replace('http', 'ws') + '/voice');
    assert.ok(voice.ws, '/voice accepts connections');
    voice.ws.send(JSON.stringify({ op: 'identify', d: { token: 'not.a.token' } }));
    assert.equal(await voice.closed(), 4004);
    assert.ok(!existsSync(join(sfu.dataDir, 'hype.db')), 'an SFU node opens no database');
  } finally {
    await sfu.stop();
  }
});

test('--roles api,gateway without the SFU: chat and gateway work, voice stays peer to peer', async () => {
  const web = await startServer({ HYPE_AUTH_TOKEN_SECRET: SECRET, HYPE_AUTH_VOICE_KEY: VOICE_KEY, HYPE_VOICE_MODE: 'auto', HYPE_LOG_LEVEL: 'info' },
    { args: ['--roles', 'api,gateway'] });
  try {
    const a = await register(web, 'roles');
    const guild = (await api(web, 'POST', '/guilds', { token: a.token, body: { name: 'roles' } })).body;
    const voiceChannel = (await api(web, 'GET', `/guilds/${guild.id}/channels`, { token: a.token })).body.find((c) => c.kind === 'voice');
    const gw = new GatewayClient(web, a.token);
    const ready = await gw.connect();
    assert.equal(ready.d.user.id, a.id);

    const join = await api(web, 'POST', `/voice/join/${voiceChannel.id}`, { token: a.token });
    assert.equal(join.status, 200);
    assert.equal(join.body.mode, 'p2p');
    assert.equal(join.body.sfu, null, 'no SFU node was announced: nothing to place on');
    assert.equal((await api(web, 'GET', `/voice/sfu-node/${voiceChannel.id}`, { token: a.token })).body.node, null);
    await gw.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === a.id);

    const voice = await openWs(web.url.replace('http', 'ws') + '/voice');
    assert.equal(await voice.closed(), 1008, 'no /voice without the sfu role');

    // Voice tokens are Ed25519: an SFU-only node holds the API's public key alone. It verifies
    // this token but refuses it: the token names no SFU node (this deployment placed the
    // channel nowhere), and a token is only good on the node it names. A node with another
    // key does not even verify it.
    assert.equal(join.body.voice_token.split('.')[0], Buffer.from('{"alg":"EdDSA","typ":"JWT"}').toString('base64url'));
    const identify = async (node) => {
      const v = await openWs(node.url.replace('http', 'ws') + '/voice');
      v.ws.send(JSON.stringify({ op: 'identify', d: { token: join.body.voice_token, channel_id: voiceChannel.id } }));
      assert.equal(await v.closed(), 4004);
      assert.ok(!v.frames.some((f) => f.op === 'ready'));
      return v.frames.find((f) => f.op === 'error')?.d?.message;
    };
    const sfu = await startServer({ HYPE_AUTH_VOICE_PUBLIC_KEY: voicePublicKeyOf(VOICE_KEY), HYPE_SFU_PORT: '0' }, { args: ['--roles', 'sfu'] });
    try {
      assert.equal(await identify(sfu), 'voice token is for another SFU node');
    } finally {
      await sfu.stop();
    }
    const stranger = await startServer({ HYPE_AUTH_VOICE_PUBLIC_KEY: voicePublicKeyOf(VOICE_KEY + 'x'), HYPE_SFU_PORT: '0' }, { args: ['--roles', 'sfu'] });
    try {
      assert.equal(await identify(stranger), 'voice token invalid');
    } finally {
      await stranger.stop();
    }
    gw.close();
  } finally {
    await web.stop();
  }
});

test('an unknown role stops start-up with a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hype-roles-'));
  try {
    const env = { ...process.env, HYPE_SERVER_PORT: '0', HYPE_SERVER_DATA_DIR: dir };
    const flag = spawnSync(HYPE_BIN, ['serve', '--roles', 'api,bogus'], { env, encoding: 'utf8', timeout: 10000 });
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /--roles: unknown role 'bogus'/);
    const cfg = spawnSync(HYPE_BIN, ['serve'], { env: { ...env, HYPE_SERVER_ROLES: 'api,stream' }, encoding: 'utf8', timeout: 10000 });
    assert.equal(cfg.status, 2);
    assert.match(cfg.stderr, /server\.roles: unknown role 'stream'/);
    // A node that signs voice tokens with one key but is told to verify with another.
    const keys = spawnSync(HYPE_BIN, ['serve'], {
      env: { ...env, HYPE_AUTH_VOICE_KEY: VOICE_KEY, HYPE_AUTH_VOICE_PUBLIC_KEY: voicePublicKeyOf(VOICE_KEY + 'x') },
      encoding: 'utf8',
      timeout: 10000,
    });
    assert.notEqual(keys.status, 0);
    assert.match(keys.stdout + keys.stderr, /auth\.voice_public_key: is not the public key of auth\.voice_key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
