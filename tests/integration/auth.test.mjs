import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, register } from './lib.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

test('register returns the contract shape and tokens that work', async () => {
  const r = await api(server, 'POST', '/auth/register', { body: { username: 'Alice_' + process.pid, password: 'hunter2hunter2' } });
  assert.equal(r.status, 201);
  assert.match(r.body.user.id, /^\d+$/);
  assert.equal(r.body.user.username, 'Alice_' + process.pid);
  assert.ok(r.body.access_token.split('.').length === 3);
  assert.ok(r.body.refresh_token.length >= 40);
  const me = await api(server, 'GET', '/auth/me', { token: r.body.access_token });
  assert.equal(me.status, 200);
  assert.deepEqual(me.body, r.body.user);
});

test('usernames are unique ignoring case and validated', async () => {
  const name = 'Bob_' + process.pid;
  assert.equal((await api(server, 'POST', '/auth/register', { body: { username: name, password: 'password123' } })).status, 201);
  const dup = await api(server, 'POST', '/auth/register', { body: { username: name.toLowerCase(), password: 'password123' } });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.error.field, 'username');
  const bad = await api(server, 'POST', '/auth/register', { body: { username: 'no spaces allowed', password: 'password123' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'username');
  const short = await api(server, 'POST', '/auth/register', { body: { username: 'carol' + process.pid, password: 'short' } });
  assert.equal(short.status, 400);
  assert.equal(short.body.error.field, 'password');
  const missing = await api(server, 'POST', '/auth/register', { body: { username: 'dave' + process.pid } });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.field, 'password');
  const wrongType = await api(server, 'POST', '/auth/register', { body: { username: 42, password: 'password123' } });
  assert.equal(wrongType.status, 400);
  assert.equal(wrongType.body.error.field, 'username');
});

test('login checks the password', async () => {
  const u = await register(server);
  const ok = await api(server, 'POST', '/auth/login', { body: { username: u.username.toUpperCase(), password: 'correct horse battery' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.user.id, u.id);
  const bad = await api(server, 'POST', '/auth/login', { body: { username: u.username, password: 'wrong password' } });
  assert.equal(bad.status, 401);
  const nobody = await api(server, 'POST', '/auth/login', { body: { username: 'nobody_here', password: 'wrong password' } });
  assert.equal(nobody.status, 401);
  assert.equal(nobody.body.error.message, bad.body.error.message, 'no user enumeration');
});

test('bad and missing tokens are refused', async () => {
  assert.equal((await api(server, 'GET', '/auth/me')).status, 401);
  const garbage = await api(server, 'GET', '/auth/me', { token: 'not.a.token' });
  assert.equal(garbage.status, 401);
  assert.equal(garbage.body.error.code, 'invalid_token');
  const u = await register(server);
  const [h, p, s] = u.token.split('.');
  const forged = JSON.parse(Buffer.from(p, 'base64url').toString());
  forged.sub = '1';
  const tampered = `${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${s}`;
  assert.equal((await api(server, 'GET', '/auth/me', { token: tampered })).status, 401);
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
  assert.equal((await api(server, 'GET', '/auth/me', { token: none })).status, 401);
});

test('refresh tokens rotate and reuse revokes the family', async () => {
  const u = await register(server);
  const r1 = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: u.refresh_token } });
  assert.equal(r1.status, 200);
  assert.notEqual(r1.body.refresh_token, u.refresh_token);
  assert.equal((await api(server, 'GET', '/auth/me', { token: r1.body.access_token })).status, 200);
  // The old token again: theft detected, the whole family is revoked.
  const reuse = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: u.refresh_token } });
  assert.equal(reuse.status, 401);
  const r2 = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: r1.body.refresh_token } });
  assert.equal(r2.status, 401, 'the newest token of a revoked family no longer works');
});

test('logout revokes the refresh token', async () => {
  const u = await register(server);
  assert.equal((await api(server, 'POST', '/auth/logout', { body: { refresh_token: u.refresh_token } })).status, 204);
  assert.equal((await api(server, 'POST', '/auth/refresh', { body: { refresh_token: u.refresh_token } })).status, 401);
});
