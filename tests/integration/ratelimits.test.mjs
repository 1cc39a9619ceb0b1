// Rate limits behind a reverse proxy (nginx on 127.0.0.1 in front, as deploy/nginx.conf): every
// client arrives from the proxy's address, and the proxy names it in X-Forwarded-For.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './lib.mjs';

const PASSWORD = 'correct horse battery';
let n = 0;
const name = (p) => `${p}${process.pid}_${++n}`;
const from = (ip) => ({ 'x-forwarded-for': ip });

async function registerFrom(server, ip, prefix = 'rl') {
  const username = name(prefix);
  const r = await api(server, 'POST', '/auth/register', { body: { username, password: PASSWORD }, headers: from(ip) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { username, token: r.body.access_token, refresh: r.body.refresh_token };
}
const login = (server, ip, username, password) =>
  api(server, 'POST', '/auth/login', { body: { username, password }, headers: from(ip) });

async function withServer(env, fn) {
  const server = await startServer({ HYPE_LIMITS_ENABLED: 'true', HYPE_SERVER_TRUSTED_PROXIES: '127.0.0.1', ...env });
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

test('behind the proxy, one client\'s failed logins lock out neither another user nor refresh', async () => {
  await withServer({}, async (server) => {
    const victim = await registerFrom(server, '198.51.100.7');
    const codes = [];
    for (let i = 0; i < 12; i++) codes.push((await login(server, '203.0.113.66', name('nobody'), 'wrong password')).status);
    assert.deepEqual(codes.slice(0, 10), Array(10).fill(401));
    assert.deepEqual(codes.slice(10), [429, 429], 'the attacker\'s own address is limited');
    assert.equal((await login(server, '198.51.100.7', victim.username, PASSWORD)).status, 200);
    const refreshed = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: victim.refresh }, headers: from('198.51.100.7') });
    assert.equal(refreshed.status, 200);
    // Even from the attacker's own address (a shared NAT), refresh has its own budget.
    const again = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: refreshed.body.refresh_token }, headers: from('203.0.113.66') });
    assert.equal(again.status, 200);
  });
});

test('default budgets: an honest user behind the proxy is served while another client floods', async () => {
  await withServer({}, async (server) => {
    const honest = await registerFrom(server, '198.51.100.60', 'honest');
    const flood = [];
    for (let i = 0; i < 150; i++) flood.push(api(server, 'GET', '/guilds', { headers: from('203.0.113.99') }));
    const floodCodes = (await Promise.all(flood)).map((r) => r.status);
    assert.ok(floodCodes.includes(429), 'the flooding address is limited');
    const codes = [];
    for (let i = 0; i < 130; i++) codes.push((await api(server, 'GET', '/guilds', { token: honest.token, headers: from('198.51.100.60') })).status);
    assert.equal(codes.filter((c) => c !== 200).length, 0, `honest user got ${codes.filter((c) => c === 429).length} answers of 429`);
  });
});

test('an untrusted peer cannot choose its address with X-Forwarded-For', async () => {
  // The proxy list does not include 127.0.0.1: the header is ignored, one budget for all.
  await withServer({ HYPE_SERVER_TRUSTED_PROXIES: '10.9.9.9/32, fd00::/8' }, async (server) => {
    const codes = [];
    for (let i = 0; i < 11; i++) codes.push((await login(server, `192.0.2.${i + 1}`, name('x'), 'wrong password')).status);
    assert.deepEqual(codes, [...Array(10).fill(401), 429]);
  });
  // Behind the trusted proxy, what the client wrote left of the proxy's entry is ignored.
  await withServer({}, async (server) => {
    const codes = [];
    for (let i = 0; i < 11; i++)
      codes.push((await login(server, `192.0.2.${i + 1}, 203.0.113.9`, name('x'), 'wrong password')).status);
    assert.deepEqual(codes, [...Array(10).fill(401), 429]);
  });
  // Default: no trusted proxies at all.
  await withServer({ HYPE_SERVER_TRUSTED_PROXIES: '' }, async (server) => {
    const codes = [];
    for (let i = 0; i < 11; i++) codes.push((await login(server, `192.0.2.${i + 1}`, name('x'), 'wrong password')).status);
    assert.deepEqual(codes, [...Array(10).fill(401), 429]);
  });
});

test('signed-in requests are counted per user, not per shared address', async () => {
  await withServer({ HYPE_LIMITS_IP: '20/60s', HYPE_LIMITS_USER: '100/60s' }, async (server) => {
    const nat = '198.51.100.50';
    const ann = await registerFrom(server, nat, 'ann');
    const bob = await registerFrom(server, nat, 'bob');
    // Anonymous traffic from the same address spends that address's budget...
    const anon = [];
    for (let i = 0; i < 25; i++) anon.push((await api(server, 'GET', '/guilds', { headers: from(nat) })).status);
    assert.ok(anon.includes(429), 'the anonymous budget of the address is spent');
    // ...which does not touch a signed-in user there: 130 requests, only their own budget.
    const codes = [];
    for (let i = 0; i < 130; i++) codes.push((await api(server, 'GET', '/guilds', { token: ann.token, headers: from(nat) })).status);
    const ok = codes.filter((c) => c === 200).length;
    assert.ok(ok >= 100, `ann got ${ok} answers before her own budget ran out`);
    assert.ok(codes.includes(429), 'ann is limited by her own budget');
    // Ann spent hers; Bob, same address, is not affected.
    for (let i = 0; i < 20; i++)
      assert.equal((await api(server, 'GET', '/guilds', { token: bob.token, headers: from(nat) })).status, 200);
    // A forged or expired token does not escape the address budget.
    assert.equal((await api(server, 'GET', '/guilds', { token: 'forged', headers: from(nat) })).status, 429);
  });
});

test('guessing one account from many addresses is throttled, the owner still gets in', async () => {
  await withServer({}, async (server) => {
    const owner = await registerFrom(server, '198.51.100.7', 'owner');
    // 40 guesses from 40 addresses: the account budget (limits.login_account, 10) bounds them.
    const codes = [];
    for (let i = 0; i < 40; i++) codes.push((await login(server, `203.0.113.${i + 1}`, owner.username, `guess${i}xyz`)).status);
    assert.equal(codes.filter((c) => c === 401).length, 10, JSON.stringify(codes));
    assert.equal(codes.filter((c) => c === 429).length, 30);
    const refused = await login(server, '203.0.113.77', owner.username, `another guess`);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    // A correct password from an attacking address is refused too: no oracle there.
    assert.equal((await login(server, '203.0.113.5', owner.username, PASSWORD)).status, 429);
    // The owner, from the address they signed in from, is checked and let in (case-insensitive name).
    const mine = await login(server, '198.51.100.7', owner.username.toUpperCase(), PASSWORD);
    assert.equal(mine.status, 200);
    // Their signed-in devices keep refreshing from anywhere.
    const r = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: owner.refresh }, headers: from('192.0.2.200') });
    assert.equal(r.status, 200);
    // Another account is untouched by the attack on this one.
    const other = await registerFrom(server, '198.51.100.8', 'other');
    assert.equal((await login(server, '203.0.113.1', other.username, PASSWORD)).status, 200);
  });
});

test('one address failing on one account is stopped early, for that account only', async () => {
  await withServer({}, async (server) => {
    const a = await registerFrom(server, '198.51.100.9', 'a');
    const b = await registerFrom(server, '198.51.100.10', 'b');
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await login(server, '203.0.113.200', a.username, `guess${i}xyz`)).status);
    assert.deepEqual(codes, [401, 401, 401, 401, 401, 429]);
    assert.equal((await login(server, '203.0.113.200', b.username, PASSWORD)).status, 200);
    assert.equal((await login(server, '198.51.100.9', a.username, PASSWORD)).status, 200);
  });
});
