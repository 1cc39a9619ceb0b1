// The SFU cluster with each SFU node in its own network namespace (scripts/cluster, as root):
// an SFU node cut off from Redis, the API and its clients for 5 s (its link down) while its
// channel is placed on the other node (issue 16, item 6: no split brain). hype-bots notice the
// silent node (ICE consent, 4 s), join again naming it, and continue on the other node; a
// client that noticed nothing (a bare /voice connection, no media) stays on the cut-off node.
// Once the link is back, the node's lease check finds the channel on the other node: that
// client is told where it went (server_update) and its session ends (channel_moved, 4012), so
// the node serves none of the channel and nobody is left hearing it from two nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { api, sleep, runBots, BOT_BIN, HYPE_BIN } from './lib.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLUSTER = join(REPO, 'scripts', 'cluster');
const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
const skip = (!canNetns && 'needs root and ip netns') || (!hasRedis && 'redis-server not installed') || (!existsSync(BOT_BIN) && 'hype-bot not built');

async function waitFor(pred, what, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await pred()) return; await sleep(100); }
  throw new Error(`timed out waiting for ${what}`);
}

async function metric(url, name) {
  try {
    const text = await (await fetch(url + '/metrics', { signal: AbortSignal.timeout(2000) })).text();
    let sum = 0;
    for (const l of text.split('\n')) if (l.startsWith(name + ' ') || l.startsWith(name + '{')) sum += Number(l.split(' ').pop());
    return sum;
  } catch {
    return null; // unreachable (cut off)
  }
}

test('an SFU node cut off for 5 s while its channel moves serves none of it once back', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hype-netns-'));
  const cluster = (...args) => {
    const r = spawnSync(CLUSTER, [...args, '--dir', dir], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, HYPE_BIN } });
    assert.equal(r.status, 0, `scripts/cluster ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  let bots = null;
  let raw = null;
  try {
    cluster('up', '--net', '10.78', '--sfu-regions', 'eu,eu', '--db', process.env.HYPE_TEST_DATABASE_URL ? 'postgres' : 'sqlite', '--log-level', 'info');
    const state = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
    const web = { url: state.api.url };
    const nodeUrl = (id) => state.sfu[id].url;

    const owner = (await api(web, 'POST', '/auth/register', { body: { username: `ns_${Date.now() % 1e8}`, password: 'netns-test-password' } })).body;
    const guild = (await api(web, 'POST', '/guilds', { token: owner.access_token, body: { name: 'Cut' } })).body;
    const voice = (await api(web, 'GET', `/guilds/${guild.id}/channels`, { token: owner.access_token })).body.find((c) => c.kind === 'voice');
    const invite = (await api(web, 'POST', `/guilds/${guild.id}/invites`, { token: owner.access_token, body: {} })).body;
    const nodeOf = async () => (await api(web, 'GET', `/voice/sfu-node/${voice.id}`, { token: owner.access_token })).body.node?.id;

    // Four bots talk (two speakers, without pause) on the channel's node.
    bots = runBots(['--server', web.url, '--count', '4', '--speakers', '2', '--continuous',
      '--duration', '24', '--channel', voice.id, '--invite', invite.code]);
    await waitFor(() => bots.mediaStart() > 0, 'the bots\' media start', 30000).catch((e) => { throw new Error(e.message + '\n' + bots.stderr().slice(-2000)); });
    const mediaStart = bots.mediaStart();
    const cut = await nodeOf();
    const other = Object.keys(state.sfu).find((n) => n !== cut);

    // The owner joins too, on a bare /voice connection: it will not notice the cut.
    const j = (await api(web, 'POST', `/voice/join/${voice.id}`, { token: owner.access_token, body: {} })).body;
    assert.equal(j.sfu.id, cut);
    const frames = [];
    let closedWith = null;
    raw = new WebSocket(j.sfu.url);
    raw.on('message', (m) => frames.push(JSON.parse(m.toString())));
    const closed = new Promise((r) => raw.on('close', (code) => { closedWith = code; r(code); }));
    await new Promise((r, e) => { raw.once('open', r); raw.once('error', e); });
    raw.send(JSON.stringify({ op: 'identify', d: { token: j.voice_token, channel_id: voice.id } }));
    await waitFor(() => frames.some((f) => f.op === 'ready'), 'the bare connection ready');
    assert.equal(await metric(nodeUrl(cut), 'sfu_active_voice_users'), 4); // media sessions: the bare one has none
    await sleep(1000);

    // The cut: 5 s without a link. The bots notice (ICE consent), join again naming the node;
    // its heartbeat is 3 s old by then, so the channel moves to the other node.
    const cutAt = Date.now() - mediaStart;
    const cutting = new Promise((resolve) => {
      const c = spawn(CLUSTER, ['cut', cut, '5', '--dir', dir], { stdio: 'ignore', env: { ...process.env, HYPE_BIN } });
      c.once('exit', resolve);
    });
    await waitFor(async () => (await nodeOf()) === other && (await metric(nodeUrl(other), 'sfu_active_voice_users')) === 4, 'the bots on the other node during the cut', 12000);
    assert.equal(closedWith, null, 'the bare connection saw nothing during the cut');
    await cutting;
    const healedAt = Date.now();

    // Back: the lease check releases the channel. The bare connection is told where it went,
    // then ended (join again); the node serves nobody.
    await closed.then(() => {}, () => {});
    await Promise.race([closed, sleep(8000)]);
    const releaseMs = Date.now() - healedAt;
    console.log(`# the cut-off node released the channel ${releaseMs} ms after its link came back`);
    assert.equal(closedWith, 4012, `the bare connection was not ended (frames: ${JSON.stringify(frames.map((f) => f.op))})`);
    const update = frames.find((f) => f.op === 'server_update');
    assert.ok(update, 'no server_update before the end');
    assert.equal(update.d.sfu.id, other);
    assert.equal(frames.filter((f) => f.op === 'error').at(-1)?.d.code, 'channel_moved');
    assert.ok(releaseMs < 6000, `released after ${releaseMs} ms`);
    await waitFor(async () => (await metric(nodeUrl(cut), 'sfu_active_voice_users')) === 0, 'the cut-off node empty', 8000);
    assert.ok((await metric(nodeUrl(cut), 'sfu_leases_lost_total')) >= 1);
    assert.equal(await nodeOf(), other, 'the channel stays on the node that took it');

    const report = await bots.report();
    assert.deepEqual(report.errors, []);
    const gaps = [];
    for (const b of report.per_bot) {
      assert.equal(b.node, other, `bot ${b.user_id} ended on ${b.node}`);
      assert.ok(b.reconnects >= 1, `bot ${b.user_id} did not join again`);
      assert.ok(b.heard_at_end.length >= 1, `bot ${b.user_id} hears nobody at the end`);
      const near = b.gaps.filter(([at]) => at >= cutAt - 500 && at <= cutAt + 1000).map(([, ms]) => ms);
      gaps.push(Math.max(0, ...near));
      const other_gaps = b.gaps.filter(([at]) => !(at >= cutAt - 500 && at <= cutAt + 1000));
      assert.deepEqual(other_gaps, [], `bot ${b.user_id}: gaps outside the cut`);
    }
    console.log(`# bots' audio gap over the 5 s cut: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
    for (const g of gaps) assert.ok(g > 0 && g < 9000, `a gap of ${g} ms over the cut`);
  } finally {
    raw?.terminate();
    await bots?.stop();
    spawnSync(CLUSTER, ['down', '--dir', dir], { encoding: 'utf8', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});
