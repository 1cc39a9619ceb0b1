// Voice analytics end to end: real users join and leave voice, the analytics role (in process,
// as a default single node runs it) folds the voice events into rollups, and
// GET /guilds/:id/analytics shows them to guild managers only. The server is killed with
// SIGKILL mid-way and started again on the same database: the rollups must match exactly the
// joins and leaves made, nothing lost and nothing counted twice.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, api, register, sleep } from './lib.mjs';

const servers = [];
after(async () => {
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
  for (const s of servers) rmSync(s.dataDir, { recursive: true, force: true });
});

async function start(env = {}) {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

// A voice session of `ms` milliseconds; resolves with its length as the client saw it.
async function session(server, user, channel, ms) {
  const t0 = Date.now();
  const j = await api(server, 'POST', `/voice/join/${channel}`, { token: user.token, body: {} });
  assert.equal(j.status, 200);
  await sleep(ms);
  const l = await api(server, 'POST', `/voice/leave/${channel}`, { token: user.token });
  assert.equal(l.status, 204);
  return Date.now() - t0;
}

function totals(body) {
  return {
    joins: body.days.reduce((n, d) => n + d.joins, 0),
    seconds: body.days.reduce((n, d) => n + d.voice_seconds, 0),
    peak: Math.max(...body.days.map((d) => d.peak_users)),
    perMinute: body.joins_per_minute.reduce((n, m) => n + m.joins, 0),
  };
}

async function waitForJoins(server, owner, guild, joins) {
  let last;
  for (let i = 0; i < 150; i++) {
    last = await api(server, 'GET', `/guilds/${guild}/analytics?days=2`, { token: owner.token });
    assert.equal(last.status, 200);
    if (totals(last.body).joins >= joins) return last.body;
    await sleep(100);
  }
  assert.fail(`rollups never reached ${joins} joins: ${JSON.stringify(last.body)}`);
}

test('rollups match the joins and leaves made, across a kill -9 and restart', async () => {
  let server = await start();
  const [owner, a, b, plain] = [
    await register(server, 'an'), await register(server, 'an'), await register(server, 'an'),
    await register(server, 'an'),
  ];
  const guild = (await api(server, 'POST', '/guilds', { token: owner.token, body: { name: 'Stats' } })).body;
  const inv = (await api(server, 'POST', `/guilds/${guild.id}/invites`, { token: owner.token, body: {} })).body;
  for (const u of [a, b, plain]) await api(server, 'POST', `/invites/${inv.code}`, { token: u.token });
  const chans = (await api(server, 'GET', `/guilds/${guild.id}/channels`, { token: owner.token })).body;
  const voice = chans.find((c) => c.kind === 'voice').id;

  // Managers only; a stranger is not told the guild exists.
  const stranger = await register(server, 'an');
  assert.equal((await api(server, 'GET', `/guilds/${guild.id}/analytics`, { token: plain.token })).status, 403);
  assert.equal((await api(server, 'GET', `/guilds/${guild.id}/analytics`, { token: stranger.token })).status, 404);
  assert.equal((await api(server, 'GET', `/guilds/${guild.id}/analytics?days=0`, { token: owner.token })).status, 400);
  const empty = await api(server, 'GET', `/guilds/${guild.id}/analytics?days=3`, { token: owner.token });
  assert.equal(empty.status, 200);
  assert.equal(empty.body.days.length, 3);
  assert.deepEqual(totals(empty.body), { joins: 0, seconds: 0, peak: 0, perMinute: 0 });

  // Phase 1: three people at once (peak 3), then a burst of short sessions, and the kill right
  // after the last leave, before the consumer's next poll has necessarily run.
  const durations = await Promise.all([
    session(server, owner, voice, 1500), session(server, a, voice, 1200), session(server, b, voice, 900),
  ]);
  for (let i = 0; i < 3; i++) durations.push(await session(server, a, voice, 400));
  server.proc.kill('SIGKILL');
  await new Promise((r) => (server.proc.exitCode !== null || server.proc.signalCode !== null ? r() : server.proc.once('exit', r)));

  // Same data directory (database and token secret): the tokens still work.
  server = await start({ HYPE_SERVER_DATA_DIR: servers[0].dataDir });
  durations.push(await session(server, b, voice, 700));
  durations.push(await session(server, owner, voice, 300));
  const joins = durations.length;

  const body = await waitForJoins(server, owner, guild.id, joins);
  await sleep(1500);  // one more poll: nothing arrives late or twice
  const t = totals((await api(server, 'GET', `/guilds/${guild.id}/analytics?days=2`, { token: owner.token })).body);
  assert.equal(t.joins, joins, 'every join once');
  assert.equal(t.perMinute, joins, 'joins per minute add up to the joins');
  assert.equal(t.peak, 3);
  const expected = durations.reduce((n, d) => n + d, 0) / 1000;
  // Each server-side duration lies within the client's (join request to leave answer), so the
  // sum is a little below; losing or doubling any session (300 ms and more) falls outside.
  assert.ok(t.seconds <= expected + 0.005 && t.seconds > expected - 0.25,
    `voice seconds ${t.seconds}, client saw ${expected}`);
  assert.equal(body.guild_id, guild.id);
  assert.match(body.to, /^\d{4}-\d{2}-\d{2}$/);
  for (const d of body.days) assert.ok(Math.abs(d.voice_minutes * 60 - d.voice_seconds) < 1e-6);

  const metrics = await (await fetch(server.url + '/metrics')).text();
  assert.match(metrics, /^analytics_events_total\{result="applied"\} \d+/m);
  assert.match(metrics, /^analytics_lag_seconds \d/m);
});

test('--roles analytics consumes what an api node recorded; without it events wait', async () => {
  // Under HYPE_TEST_DATABASE_URL every server of this file shares one PostgreSQL database: a
  // node of the previous test still running (all roles, analytics among them) would consume
  // this test's events. Stop them first.
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
  const secret = { HYPE_AUTH_TOKEN_SECRET: 'analytics-roles-secret-0123456789abcdef' };
  const apiNode = await startServer(secret, { args: ['--roles', 'api,gateway'] });
  servers.push(apiNode);
  const dir = { ...secret, HYPE_SERVER_DATA_DIR: apiNode.dataDir };
  const owner = await register(apiNode, 'ar');
  const guild = (await api(apiNode, 'POST', '/guilds', { token: owner.token, body: { name: 'Split' } })).body;
  const chans = (await api(apiNode, 'GET', `/guilds/${guild.id}/channels`, { token: owner.token })).body;
  const voice = chans.find((c) => c.kind === 'voice').id;
  for (let i = 0; i < 2; i++) await session(apiNode, owner, voice, 200);
  await sleep(1500);
  let t = totals((await api(apiNode, 'GET', `/guilds/${guild.id}/analytics`, { token: owner.token })).body);
  assert.equal(t.joins, 0, 'no analytics role: the events wait in the outbox');
  await new Promise((r) => { apiNode.proc.once('exit', r); apiNode.proc.kill('SIGTERM'); });

  const stats = await startServer(dir, { args: ['--roles', 'analytics'] });
  servers.push(stats);
  assert.equal((await api(stats, 'GET', `/guilds/${guild.id}/analytics`, { token: owner.token })).status, 404, 'no API here');
  let applied = 0;
  for (let i = 0; i < 100 && applied < 4; i++) {
    const m = (await (await fetch(stats.url + '/metrics')).text()).match(/^analytics_events_total\{result="applied"\} (\d+)/m);
    applied = m ? Number(m[1]) : 0;
    if (applied < 4) await sleep(100);
  }
  assert.equal(applied, 4, 'two joins and two leaves applied');
  await new Promise((r) => { stats.proc.once('exit', r); stats.proc.kill('SIGTERM'); });

  const web = await start({ ...dir });
  t = totals((await api(web, 'GET', `/guilds/${guild.id}/analytics`, { token: owner.token })).body);
  assert.equal(t.joins, 2);
  assert.equal(t.peak, 1);
  assert.ok(t.seconds >= 0.4 && t.seconds < 1, `voice seconds ${t.seconds}`);
});
