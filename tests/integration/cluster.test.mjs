// SFU placement shared through Redis (issue 16, first part): three SFU-only nodes in two
// regions heartbeat into a real redis-server, an api+gateway node places voice channels on
// them. Checked: channels of the API node's region spread over that region's nodes; voice
// tokens name the chosen node; a node killed with SIGKILL loses its channels to a live one
// once its heartbeat is 3 s old; SIGTERM withdraws a node at once; with no node left in the
// region, another region's node takes the channel; Redis down: a placed channel still joins,
// a new one answers 503 placement_unavailable, and placement works again when Redis is back.
// Not yet shared: voice states (the SFU nodes' Coordinator is per process), so media through
// a split node is not tested here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, register, sleep, HYPE_BIN, voicePublicKeyOf } from './lib.mjs';

const VOICE_KEY = 'cluster-test-voice-key-0123456789abcdef';
const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A throwaway redis-server (shared/TESTING.md "Redis 7"); start() again reuses its port.
async function redisServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hype-redis-'));
  let proc = null;
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
  const r = {
    port,
    cli,
    async start() {
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        if (cli('PING').stdout.trim() === 'PONG') return;
        await sleep(50);
      }
      throw new Error('redis-server did not start');
    },
    async stop() {
      if (!proc) return;
      proc.kill('SIGKILL');
      await new Promise((res) => (proc.exitCode !== null || proc.signalCode ? res() : proc.once('exit', res)));
      proc = null;
    },
    async close() {
      await r.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  return r;
}

const tokenNode = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).node;

test('SFU placement through Redis: spread by region, failover of a killed node, drain on SIGTERM, Redis down', { skip: !hasRedis && 'redis-server not installed', timeout: 120_000 }, async () => {
  const redis = await redisServer();
  const url = `redis://127.0.0.1:${redis.port}`;
  const servers = [];
  try {
    const publicKey = voicePublicKeyOf(VOICE_KEY);
    const sfu = {};
    for (const [id, region] of [[1, 'eu'], [2, 'eu'], [3, 'us']]) {
      sfu[`node-${id}`] = await startServer(
        { HYPE_CLUSTER_REDIS_URL: url, HYPE_SERVER_NODE_ID: String(id), HYPE_SERVER_REGION: region, HYPE_AUTH_VOICE_PUBLIC_KEY: publicKey, HYPE_SFU_PORT: '0' },
        { args: ['--roles', 'sfu'] },
      );
      servers.push(sfu[`node-${id}`]);
    }
    const web = await startServer(
      { HYPE_CLUSTER_REDIS_URL: url, HYPE_SERVER_REGION: 'eu', HYPE_AUTH_VOICE_KEY: VOICE_KEY, HYPE_VOICE_MODE: 'sfu' },
      { args: ['--roles', 'api,gateway'] },
    );
    servers.push(web);
    const registered = () => redis.cli('ZRANGE', 'hype:{sfu}:nodes', '0', '-1').stdout.trim().split('\n').filter(Boolean).sort();
    for (let i = 0; i < 100 && registered().length < 3; i++) await sleep(50);
    assert.deepEqual(registered(), ['node-1', 'node-2', 'node-3']);
    const status = () => {
      const r = spawnSync(HYPE_BIN, ['cluster', 'status'], { env: { ...process.env, HYPE_CLUSTER_REDIS_URL: url }, encoding: 'utf8', timeout: 10000 });
      assert.equal(r.status, 0, r.stderr);
      return Object.fromEntries(r.stdout.trim().split('\n').slice(1, -1).map((l) => { const f = l.split(/\s+/); return [f[0], { region: f[1], url: f[2], channels: Number(f[5]), state: f.at(-1) }]; }));
    };

    // One user per channel (a user is in one voice channel at a time), so all six stay placed.
    const users = [];
    for (let i = 0; i < 7; i++) users.push(await register(web, 'cl'));
    const [a, b] = users;
    const guild = (await api(web, 'POST', '/guilds', { token: a.token, body: { name: 'Cluster' } })).body;
    const invite = (await api(web, 'POST', `/guilds/${guild.id}/invites`, { token: a.token, body: {} })).body;
    for (const u of users.slice(1)) await api(web, 'POST', `/invites/${invite.code}`, { token: u.token });
    const channels = [];
    for (let i = 0; i < 6; i++) channels.push((await api(web, 'POST', `/guilds/${guild.id}/channels`, { token: a.token, body: { name: `v${i}`, kind: 'voice' } })).body);

    // Each channel is placed on an eu node (the API node's region), spread evenly; the voice
    // token names the node the join answer points at.
    const placed = {};
    for (const [i, ch] of channels.entries()) {
      const user = users[i];
      const j = await api(web, 'POST', `/voice/join/${ch.id}`, { token: user.token, body: {} });
      assert.equal(j.status, 200, JSON.stringify(j.body));
      assert.equal(tokenNode(j.body.voice_token), j.body.sfu.id);
      assert.equal(j.body.sfu.region, 'eu');
      placed[ch.id] = j.body.sfu.id;
      const asked = await api(web, 'GET', `/voice/sfu-node/${ch.id}`, { token: a.token });
      assert.equal(asked.body.node.id, j.body.sfu.id);
    }
    const count = (id) => Object.values(placed).filter((n) => n === id).length;
    assert.equal(count('node-1'), 3, JSON.stringify(placed));
    assert.equal(count('node-2'), 3, JSON.stringify(placed));
    // `hype cluster status` shows the same registry: regions, urls, channels, all live.
    const st = status();
    assert.deepEqual(Object.keys(st).sort(), ['node-1', 'node-2', 'node-3']);
    assert.deepEqual([st['node-1'].region, st['node-3'].region], ['eu', 'us']);
    assert.equal(st['node-1'].url, sfu['node-1'].url.replace('http', 'ws') + '/voice');
    assert.deepEqual([st['node-1'].channels, st['node-2'].channels, st['node-3'].channels], [3, 3, 0]);
    for (const n of Object.values(st)) assert.equal(n.state, 'live');

    // SIGKILL the node of channel 0: 3 s after its last heartbeat, a join there is placed on
    // the other eu node, and the new token names that node.
    const victim = placed[channels[0].id];
    const survivor = victim === 'node-1' ? 'node-2' : 'node-1';
    const killed = new Promise((res) => sfu[victim].proc.once('exit', res));
    sfu[victim].proc.kill('SIGKILL');
    await killed;
    await sleep(3500);
    const moved = await api(web, 'POST', `/voice/join/${channels[0].id}`, { token: users[6].token, body: {} });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.sfu.id, survivor);
    assert.equal(tokenNode(moved.body.voice_token), survivor);
    assert.ok(!registered().includes(victim));

    // SIGTERM withdraws at once (no 3 s wait): with no eu node left, the us node takes over.
    await sfu[survivor].stop();
    assert.ok(!registered().includes(survivor), registered().join(','));
    const onSurvivor = channels.find((c) => placed[c.id] === survivor);
    const fallback = await api(web, 'POST', `/voice/join/${onSurvivor.id}`, { token: users[6].token, body: {} });
    assert.equal(fallback.status, 200);
    assert.equal(fallback.body.sfu.id, 'node-3');
    assert.equal(fallback.body.sfu.region, 'us');

    // Redis down: the channel placed above still joins (from the API node's cache), a new
    // one cannot be placed: 503 with Retry-After, nothing else breaks.
    const fresh = (await api(web, 'POST', `/guilds/${guild.id}/channels`, { token: a.token, body: { name: 'fresh', kind: 'voice' } })).body;
    await redis.stop();
    await sleep(200);
    const again = await api(web, 'POST', `/voice/join/${onSurvivor.id}`, { token: users[6].token, body: {} });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.sfu.id, 'node-3');
    const refused = await api(web, 'POST', `/voice/join/${fresh.id}`, { token: users[5].token, body: {} });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'placement_unavailable');
    assert.ok(refused.headers.get('retry-after'));
    // The refused join changed nothing: users[5] is still in its channel, nobody in the new one.
    const inFresh = await api(web, 'GET', `/voice/states/${fresh.id}`, { token: a.token });
    assert.deepEqual(inFresh.body, [], JSON.stringify(inFresh.body));
    const inOld = await api(web, 'GET', `/voice/states/${channels[5].id}`, { token: a.token });
    assert.deepEqual(inOld.body.map((v) => v.user_id), [users[5].id]);
    assert.equal((await api(web, 'GET', `/guilds/${guild.id}/channels`, { token: a.token })).status, 200);

    // Redis back (empty): the node's next heartbeats register it again and placement works.
    await redis.start();
    for (let i = 0; i < 100 && !registered().includes('node-3'); i++) await sleep(50);
    const back = await api(web, 'POST', `/voice/join/${fresh.id}`, { token: users[5].token, body: {} });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.sfu.id, 'node-3');
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    await redis.close();
  }
});
