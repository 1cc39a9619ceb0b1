// Two api+gateway nodes behind nginx with TLS, as deploy/nginx/cluster.conf (issue 17): the
// test runs that site as is, replacing only the node addresses, the listening port and the
// certificate (self-signed, made here with openssl). Both nodes share PostgreSQL (the
// PostgreSQL pass of scripts/test: HYPE_TEST_DATABASE_URL) and Redis. Checked:
// - REST and the gateway WebSocket through nginx over TLS;
// - users on different nodes see each other's messages, typing, presence and voice states,
//   and P2P-signal each other (the Redis event bus);
// - a rate limit of N messages a minute holds across both nodes (buckets in Redis);
// - kill -9 of one node: every REST call through nginx keeps working (the next node answers),
//   every message posted meanwhile reaches a member on the surviving node exactly once, and a
//   client of the dead node resumes through nginx on the other node (session id, seq and the
//   stream cursor "c"): every message posted meanwhile is replayed exactly once, in order,
//   with seq numbers continuing from its own; a cursor the stream no longer holds is refused
//   (4007, identify again) and identify works then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, register, sleep, GatewayClient, NGINX, startNginx, freePort, redisServer, promtoolCheck } from './lib.mjs';

const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
const PG = process.env.HYPE_TEST_DATABASE_URL;
const skip = (!NGINX && 'nginx is not installed') || (!hasRedis && 'redis-server is not installed')
  || (!PG && 'two nodes share one database: runs in the PostgreSQL pass (HYPE_TEST_DATABASE_URL)');


// deploy/nginx/cluster.conf with this test's addresses, port and certificate.
function siteFor(nodes, port, dir) {
  let conf = readFileSync(new URL('../../deploy/nginx/cluster.conf', import.meta.url), 'utf8');
  const entries = [...conf.matchAll(/^( *)server \S+:\d+( max_fails.*;)$/gm)];
  assert.ok(entries.length >= 2, 'the site lists its nodes in the upstream block');
  const [, indent, params] = entries[0];
  conf = conf.replace(entries.map((e) => e[0]).join('\n'), nodes.map((n) => `${indent}server ${new URL(n.url).host}${params}`).join('\n'));
  conf = conf.replace(/server \{\n {4}listen 80;[\s\S]*?\n\}\n/, '');  // the http -> https redirect
  conf = conf.replace(/ {4}listen \[::\]:443 ssl http2;\n/, '').replace('listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl;`);
  conf = conf.replace(/ssl_certificate +\S+;/, `ssl_certificate ${dir}/cert.pem;`).replace(/ssl_certificate_key +\S+;/, `ssl_certificate_key ${dir}/key.pem;`);
  return conf;
}

test('two api+gateway nodes behind nginx (TLS): chat across nodes, a shared rate limit, kill -9 of a node', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hype-nginx-cluster-'));
  const procs = [];
  const servers = [];
  let redis = null;
  try {
    // Redis (no persistence) and the certificate.
    redis = await redisServer();
    const rport = redis.port;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    const ca = readFileSync(join(dir, 'cert.pem'));

    // Two api+gateway nodes: one database, one Redis, the same secrets, their own node ids.
    const shared = {
      HYPE_CLUSTER_REDIS_URL: `redis://127.0.0.1:${rport}`,
      HYPE_AUTH_TOKEN_SECRET: 'nginx-cluster-token-secret-0123456789abcdef',
      HYPE_AUTH_VOICE_KEY: 'nginx-cluster-voice-key-0123456789abcdef0',
      HYPE_SERVER_TRUSTED_PROXIES: '127.0.0.1',
      HYPE_CLUSTER_EVENT_HISTORY: '10000',  // the event stream: resume on the other node
      HYPE_LIMITS_ENABLED: 'true',
      HYPE_LIMITS_MESSAGES: '12/60s',
      HYPE_LIMITS_AUTH: '1000/60s',
      HYPE_LIMITS_IP: '10000/60s',
      HYPE_LIMITS_USER: '10000/60s',
      HYPE_LIMITS_IDENTIFY: '1000/60s',
    };
    for (const id of [1, 2]) {
      servers.push(await startServer({ ...shared, HYPE_SERVER_NODE_ID: String(id) }, { args: ['--roles', 'api,gateway'] }));
    }
    const [n1, n2] = servers;

    const port = await freePort();
    procs.push(startNginx(dir, siteFor(servers, port, dir)));
    const edge = { url: `https://127.0.0.1:${port}`, wsUrl: `wss://127.0.0.1:${port}/gateway`, wsOptions: { ca } };

    // REST through nginx over TLS (the test's own CA).
    const tls = (method, path, { token, body } = {}) => new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(`${edge.url}/api/v1${path}`, {
        method, ca, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null }));
      });
      req.on('error', reject);
      req.end(data);
    });
    for (let i = 0; i < 100; i++) {
      try { if ((await tls('GET', '/users/@me')).status === 401) break; } catch { /* not yet */ }
      await sleep(50);
    }

    // Accounts and a guild, through nginx.
    const reg = async (name) => {
      const r = await tls('POST', '/auth/register', { body: { username: `${name}${Date.now() % 100000}`, password: 'nginx-cluster-password' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return { token: r.body.access_token, id: r.body.user.id };
    };
    const [alice, bob, carol, dave] = [await reg('al'), await reg('bo'), await reg('ca'), await reg('da')];
    const guild = (await tls('POST', '/guilds', { token: alice.token, body: { name: 'Edge' } })).body;
    const invite = (await tls('POST', `/guilds/${guild.id}/invites`, { token: alice.token, body: {} })).body;
    for (const u of [bob, carol, dave]) assert.equal((await tls('POST', `/invites/${invite.code}`, { token: u.token })).status, 200);
    const text = (await tls('GET', `/guilds/${guild.id}/channels`, { token: alice.token })).body.find((c) => c.kind === 'text');

    // Gateways: alice through nginx (wss), bob on node 1 and carol on node 2 directly, so
    // delivery crosses nodes whichever node nginx chose for alice.
    const ga = new GatewayClient(edge, alice.token);
    assert.equal((await ga.connect()).t, 'READY', 'READY through nginx over TLS');
    const gb = new GatewayClient(n1, bob.token);
    const gc = new GatewayClient(n2, carol.token);
    await gb.connect();
    await gc.connect();

    const post = (u, content, via = null) => (via ? api(via, 'POST', `/channels/${text.id}/messages`, { token: u.token, body: { content } })
      : tls('POST', `/channels/${text.id}/messages`, { token: u.token, body: { content } }));
    const m1 = await post(bob, 'from node 1', n1);
    assert.equal(m1.status, 201);
    assert.equal((await gc.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === m1.body.id)).d.content, 'from node 1');
    const m2 = await post(carol, 'from node 2', n2);
    await gb.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === m2.body.id);
    await ga.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === m1.body.id);  // alice, through nginx, from node 1
    await ga.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === m2.body.id);  // and from node 2
    assert.equal((await api(n1, 'POST', `/channels/${text.id}/typing`, { token: bob.token })).status, 204);
    assert.equal((await gc.waitFor((f) => f.t === 'TYPING_START' && f.d.user_id === bob.id)).d.channel_id, text.id);

    // Presence, voice states and P2P signals across nodes: bob (node 1) and carol (node 2) in
    // the voice channel, bob's WebRTC offer reaches carol.
    assert.ok(gc.frames.some((f) => f.t === 'PRESENCE_UPDATE' && f.d.user_id === bob.id) || gb.frames.some((f) => f.t === 'PRESENCE_UPDATE' && f.d.user_id === carol.id),
      'a presence update crossed nodes');
    const voiceCh = (await tls('GET', `/guilds/${guild.id}/channels`, { token: alice.token })).body.find((c) => c.kind === 'voice');
    for (const [u, via] of [[bob, n1], [carol, n2]])
      assert.equal((await api(via, 'POST', `/voice/join/${voiceCh.id}`, { token: u.token, body: {} })).status, 200);
    await gc.waitFor((f) => f.t === 'VOICE_STATE_UPDATE' && f.d.user_id === bob.id && f.d.channel_id === voiceCh.id);
    gb.send({ op: 'voice_signal', d: { to: carol.id, payload: { type: 'offer', sdp: 'v=0 cross-node' } } });
    const sig = await gc.waitFor((f) => f.t === 'VOICE_SIGNAL');
    assert.equal(sig.d.from, bob.id);
    assert.deepEqual(sig.d.payload, { type: 'offer', sdp: 'v=0 cross-node' });
    for (const [u, via] of [[bob, n1], [carol, n2]]) await api(via, 'POST', `/voice/leave/${voiceCh.id}`, { token: u.token });

    // 12 messages a minute per user, on whichever node: 6 on node 1 and 6 on node 2 spend it.
    for (let i = 0; i < 12; i++) assert.equal((await post(dave, 'counted', i % 2 ? n2 : n1)).status, 201);
    const over1 = await post(dave, 'one too many', n1);
    const over2 = await post(dave, 'one too many', n2);
    assert.equal(over1.status, 429, 'the budget spent across both nodes holds on node 1');
    assert.equal(over2.status, 429, 'and on node 2');

    // kill -9 of node 1: REST through nginx keeps answering (the next node), messages posted
    // meanwhile reach carol (node 2) once each, bob reconnects through nginx.
    const bobClosed = gb.closed;
    n1.proc.kill('SIGKILL');
    await new Promise((r) => (n1.proc.exitCode !== null || n1.proc.signalCode ? r() : n1.proc.once('exit', r)));
    await bobClosed;
    const posted = [];
    for (let i = 0; i < 10; i++) {
      const r = await post(alice, `during failover ${i}`);
      assert.equal(r.status, 201, `post ${i} through nginx with node 1 dead: ${JSON.stringify(r.body)}`);
      posted.push(r.body.id);
    }
    for (const id of posted) await gc.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === id);
    const seen = gc.events('MESSAGE_CREATE').filter((f) => posted.includes(f.d.id)).map((f) => f.d.id);
    assert.deepEqual(seen, posted, 'each message once, in order, on the surviving node');

    // Bob resumes through nginx (only node 2 is left): what he missed comes from the stream.
    assert.ok(gb.cursor, 'dispatch frames carry the stream cursor "c"');
    const back = new GatewayClient(edge, bob.token);
    back.sessionId = gb.sessionId;
    back.cursor = gb.cursor;
    const resumed = await back.connect({ resume: gb.seq });
    assert.equal(resumed.d.session_id, gb.sessionId, 'bob resumed on node 2 under his session id');
    const replayed = back.events('MESSAGE_CREATE').filter((f) => posted.includes(f.d.id));
    assert.deepEqual(replayed.map((f) => f.d.id), posted, 'every missed message once, in order');
    assert.equal(replayed[0].s > gb.seq, true, 'seq numbers continue from the client\'s');
    const seqs = back.frames.filter((f) => typeof f.s === 'number').map((f) => f.s);
    assert.deepEqual(seqs, seqs.map((_, i) => gb.seq + 1 + i), 'no gap, no repeat in seq');
    const m3 = await post(carol, 'after the failover', n2);
    await back.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === m3.body.id);  // bob receives again
    await sleep(200);
    assert.equal(back.events('MESSAGE_CREATE').filter((f) => f.d.id === m3.body.id).length, 1);

    // A cursor the stream does not hold (made up, far in the future): told to identify again.
    const again = new GatewayClient(n2, dave.token);
    again.sessionId = 'not-on-this-node';
    again.cursor = '99999999999999-0';
    again.connect({ resume: 1 }).catch(() => {});
    assert.equal((await again.closed).code, 4007);
    const fresh = new GatewayClient(n2, dave.token);
    await fresh.connect();
    fresh.close();
    // The bus's counters on the surviving node: every event came from the stream, the node's
    // own too, and the exposition stays valid.
    const metricsText = await (await fetch(n2.url + '/metrics')).text();
    const value = (name) => Number(metricsText.split('\n').find((l) => l.startsWith(name + ' '))?.split(' ').pop());
    assert.ok(value('cluster_events_received_total') >= posted.length, 'events delivered from the stream');
    assert.equal(value('cluster_events_read_failed_total'), 0, 'the reader of node 2 never failed');
    const lint = promtoolCheck(metricsText);
    assert.ok(!lint, lint ?? '');
    back.close();
    ga.close();
    gc.close();
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    // SIGQUIT: nginx's master stops its workers too (SIGKILL would leave them running).
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGQUIT');
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
