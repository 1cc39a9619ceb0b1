// SFU failover and drain in real Chromium (issue 16): a cluster on one machine (redis-server,
// three SFU-only nodes, an api+gateway node serving the web client) with two browsers talking
// in an SFU channel.
// 1. kill -9 of the SFU node that carries the channel: each browser's /voice connection drops,
//    it rejoins naming the node it lost (`sfu_failed`), the API sees that node's Redis
//    connection closed and moves the channel to another node at once (no 3 s heartbeat wait),
//    and both browsers hear each other again through the new node, without user action.
//    Reported: the audio gap per browser (kill -9 to the first packets of the new stream);
//    asserted: audio comes back, bounded generously (a benchmark's figure, not a test's).
// 2. SIGTERM of the node that carries it now: it drains (make before break): it moves the
//    channel to the third node and sends VOICE_SERVER_UPDATE; each browser connects there
//    while still hearing through the old node, cuts over once the new one carries the audio,
//    and the old node exits by itself once its rooms are empty. Asserted: no audio hole over
//    400 ms (sampled every ~40 ms).
// 3. Redis crashes and comes back empty mid-call: every voice state and placement is gone. The
//    SFU node sees its sessions' states missing from a store of another generation and says
//    `state_lost` instead of ending them; each browser writes its state back (a join keeping
//    its session) on the connection it has. Asserted: both states back, the same connection
//    (no reconnect: the played stream never restarts), no audio hole over 400 ms.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, assertReceiving, launch, loginUi, myId, openUser, registerApi, setBase, sleep, uniqueName, until, writeToneWav } from './lib/browser.mjs';
import { hasRedis, startCluster } from './lib/cluster.mjs';

const GAP_BOUND_MS = 10_000; // functional bound; the measured gap is printed
const DRAIN_HOLE_MS = 400;

const exited = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[0] === 'Z';
  } catch {
    return true;
  }
};

/**
 * The worst audio hole on the played stream: per interval between two samples of the same
 * stream, the time its packets (20 ms each) do not cover. A counter that went down is the
 * cut-over to a new stream (already flowing when the client switches): not a hole by itself.
 */
function worstHole(samples) {
  let worst = 0;
  let cutovers = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (b.p < a.p) {
      cutovers++;
      continue;
    }
    worst = Math.max(worst, b.t - a.t - 20 * (b.p - a.p));
  }
  return { worst: Math.round(worst), cutovers, samples: samples.length };
}

/** Samples, in the page, the played stream's packet counter from one remote user. */
function startSampler(page, peerId) {
  return page.evaluate((peer) => {
    const g = (window.__fo = { samples: [], stop: false });
    const tick = async () => {
      if (g.stop) return;
      const { inbound } = await window.__hype.rtcService.playedInbound().catch(() => ({ inbound: {} }));
      g.samples.push({ t: Date.now(), p: inbound[peer]?.packetsReceived ?? 0 });
      setTimeout(tick, 40);
    };
    void tick();
  }, peerId);
}

function stopSampler(page) {
  return page.evaluate(() => {
    window.__fo.stop = true;
    return window.__fo.samples;
  });
}

/**
 * Audio gap after `killedAt`: from the kill to the first sample where a new stream (its counter
 * restarted below the old one's) has grown. null when it never came back in the samples.
 */
export function gapAfterKill(samples, killedAt) {
  const before = samples.filter((s) => s.t <= killedAt);
  const atKill = before.length ? before[before.length - 1].p : 0;
  let restarted = false;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (b.t <= killedAt) continue;
    if (b.p < a.p || b.p < atKill) restarted = true;
    if (restarted && b.p > a.p) return b.t - killedAt;
  }
  return null;
}

describe('SFU failover in Chromium', { skip: !hasRedis && 'redis-server not installed' }, () => {
  let cluster;
  let browser;
  let tmp;
  const users = {};
  let channelId;
  let ownerToken;

  before(async () => {
    cluster = await startCluster({ sfuNodes: 3 });
    setBase(cluster.api.url);
    tmp = mkdtempSync(join(tmpdir(), 'hype-failover-'));
    browser = await launch({ args: [`--use-file-for-fake-audio-capture=${writeToneWav(join(tmp, 'tone.wav'))}`] });
    const names = { alice: uniqueName('fa'), bob: uniqueName('fb') };
    const owner = await registerApi(names.alice);
    ownerToken = owner.access_token;
    const g = await api('POST', '/guilds', { name: 'Failover Guild' }, ownerToken);
    const full = await api('GET', `/guilds/${g.id}`, undefined, ownerToken);
    channelId = full.channels.find((c) => c.kind === 'voice').id;
    const invite = (await api('POST', `/guilds/${g.id}/invites`, {}, ownerToken)).code;
    const bobAuth = await registerApi(names.bob);
    await api('POST', `/invites/${invite}`, undefined, bobAuth.access_token);
    for (const who of ['alice', 'bob']) {
      users[who] = await openUser(browser);
      await loginUi(users[who].page, names[who]);
      users[who].id = await myId(users[who].page);
    }
  });
  after(async () => {
    await browser?.close();
    await cluster?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('kill -9 of the channel\'s SFU node: both browsers rejoin on the other node and hear each other again, without user action', async (t) => {
    const { alice, bob } = users;
    for (const u of [alice, bob]) {
      await u.page.getByRole('button', { name: 'Join voice' }).click();
      await u.page.getByRole('button', { name: 'Leave voice' }).waitFor();
    }
    await assertReceiving(alice.page, [bob.id], 'alice (before)');
    await assertReceiving(bob.page, [alice.id], 'bob (before)');
    const placed = (await api('GET', `/voice/sfu-node/${channelId}`, undefined, ownerToken)).node.id;
    t.diagnostic(`channel on ${placed}`);

    await startSampler(alice.page, bob.id);
    await startSampler(bob.page, alice.id);
    await sleep(500);
    const killedAt = Date.now();
    process.kill(cluster.sfu[placed].pid, 'SIGKILL');

    for (const [name, u] of Object.entries(users)) {
      await until(async () => {
        const s = await u.page.evaluate(() => window.__hype.rtcService.getSnapshot());
        return s.status === 'connected';
      }, { timeout: 30_000, what: `${name} connected again` });
    }
    await assertReceiving(alice.page, [bob.id], 'alice (after)');
    await assertReceiving(bob.page, [alice.id], 'bob (after)');
    const other = (await api('GET', `/voice/sfu-node/${channelId}`, undefined, ownerToken)).node.id;
    assert.notEqual(other, placed, 'the channel moved to a surviving node');
    t.diagnostic(`channel moved to ${other}`);
    for (const [name, u] of Object.entries(users)) {
      const samples = await stopSampler(u.page);
      const gap = gapAfterKill(samples, killedAt);
      const log = await u.page.evaluate(() => window.__hype.store.logs.slice(-12).join('\n'));
      t.diagnostic(`${name}: audio gap after kill -9: ${gap} ms (${samples.length} samples)\n${log}`);
      assert.ok(gap !== null, `${name}: the new stream never grew in the samples`);
      assert.ok(gap < GAP_BOUND_MS, `${name}: audio back after ${gap} ms`);
    }
    // Both are still one channel, in voice (their voice states kept through the rejoin).
    const states = await api('GET', `/voice/states/${channelId}`, undefined, ownerToken);
    assert.deepEqual(states.map((s) => s.user_id).sort(), [alice.id, bob.id].sort());

    // ---- 2. SIGTERM: the node drains, make before break ----
    const last = Object.keys(cluster.sfu).find((id) => id !== placed && id !== other);
    await startSampler(alice.page, bob.id);
    await startSampler(bob.page, alice.id);
    await sleep(1000);
    const termAt = Date.now();
    process.kill(cluster.sfu[other].pid, 'SIGTERM');
    await until(async () => (await api('GET', `/voice/sfu-node/${channelId}`, undefined, ownerToken)).node.id === last, { timeout: 10_000, what: `the channel moved to ${last}` });
    for (const [name, u] of Object.entries(users)) {
      await until(async () => (await u.page.evaluate(() => window.__hype.rtcService.switches.length)) > 0, { timeout: 20_000, what: `${name} cut over to ${last}` }).catch(async (e) => {
        const log = await u.page.evaluate(() => window.__hype.store.logs.slice(-20).join('\n'));
        const nodes = Object.entries(cluster.sfu).map(([id, n]) => `--- ${id}\n${n.log().split('\n').slice(-15).join('\n')}`).join('\n');
        throw new Error(`${e.message}\n${name}'s log:\n${log}\n--- api\n${cluster.api.log().split('\n').slice(-20).join('\n')}\n${nodes}`);
      });
    }
    await sleep(1500);
    for (const [name, u] of Object.entries(users)) {
      const hole = worstHole(await stopSampler(u.page));
      const sw = await u.page.evaluate(() => window.__hype.rtcService.switches);
      t.diagnostic(`${name}: drain ${JSON.stringify(sw)}; worst hole ${JSON.stringify(hole)}`);
      assert.equal(sw.at(-1).from, 'sfu');
      assert.equal(sw.at(-1).to, 'sfu');
      assert.ok(hole.cutovers >= 1, `${name}: the played stream changed`);
      assert.ok(hole.worst <= DRAIN_HOLE_MS, `${name}: audio hole ${hole.worst} ms during the drain`);
    }
    await until(() => exited(cluster.sfu[other].pid), { timeout: 35_000, what: `${other} exits once drained` });
    t.diagnostic(`${other} exited ${Date.now() - termAt} ms after SIGTERM`);
    await assertReceiving(alice.page, [bob.id], 'alice (after the drain)');
    await assertReceiving(bob.page, [alice.id], 'bob (after the drain)');

    // ---- 3. Redis restarts empty mid-call ----
    await startSampler(alice.page, bob.id);
    await startSampler(bob.page, alice.id);
    await sleep(500);
    const crashedAt = Date.now();
    await cluster.redis.restart();
    await until(async () => (await api('GET', `/voice/states/${channelId}`, undefined, ownerToken)).length === 2, { timeout: 30_000, what: 'both voice states written back' });
    const backAfter = Date.now() - crashedAt;
    await sleep(2000); // past the node's next grant checks: nobody is asked to rejoin
    for (const [name, u] of Object.entries(users)) {
      assert.equal(await u.page.evaluate(() => window.__hype.rtcService.getSnapshot().status), 'connected', `${name} connected after the Redis restart`);
    }
    await assertReceiving(alice.page, [bob.id], 'alice (after the Redis restart)');
    await assertReceiving(bob.page, [alice.id], 'bob (after the Redis restart)');
    for (const [name, u] of Object.entries(users)) {
      const hole = worstHole(await stopSampler(u.page));
      const log = await u.page.evaluate(() => window.__hype.store.logs.slice(-6).join('\n'));
      t.diagnostic(`${name}: Redis restarted empty: state back after ${backAfter} ms; worst audio hole ${JSON.stringify(hole)}\n${log}`);
      assert.equal(hole.cutovers, 0, `${name}: the played stream restarted (a reconnect) after the Redis restart`);
      assert.ok(hole.worst <= DRAIN_HOLE_MS, `${name}: audio hole ${hole.worst} ms after the Redis restart`);
      assert.ok(log.includes('voice state written back'), `${name} wrote its state back`);
    }
  });
});
