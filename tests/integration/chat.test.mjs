import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, register, GatewayClient, sleep } from './lib.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

async function setupGuild() {
  const a = await register(server, 'alice');
  const b = await register(server, 'bob');
  const g = await api(server, 'POST', '/guilds', { token: a.token, body: { name: 'Test guild' } });
  assert.equal(g.status, 201);
  const chans = await api(server, 'GET', `/guilds/${g.body.id}/channels`, { token: a.token });
  const text = chans.body.find((c) => c.kind === 'text');
  const voice = chans.body.find((c) => c.kind === 'voice');
  const inv = await api(server, 'POST', `/guilds/${g.body.id}/invites`, { token: a.token, body: {} });
  assert.equal(inv.status, 201);
  const join = await api(server, 'POST', `/invites/${inv.body.code}`, { token: b.token });
  assert.equal(join.status, 200);
  return { a, b, guild: g.body, text, voice, invite: inv.body.code };
}

test('a new guild has #general and General, owned by its creator', async () => {
  const a = await register(server);
  const g = await api(server, 'POST', '/guilds', { token: a.token, body: { name: 'Mine' } });
  assert.equal(g.status, 201);
  assert.equal(g.body.owner_id, a.id);
  assert.equal(g.body.name, 'Mine');
  const full = await api(server, 'GET', `/guilds/${g.body.id}`, { token: a.token });
  assert.deepEqual(full.body.channels.map((c) => [c.name, c.kind]), [['general', 'text'], ['General', 'voice']]);
  const list = await api(server, 'GET', '/guilds', { token: a.token });
  assert.ok(list.body.some((x) => x.id === g.body.id));
});

test('two users chat live; an outsider sees nothing', async () => {
  const { a, b, guild, text } = await setupGuild();
  const c = await register(server, 'outsider');
  const ga = new GatewayClient(server, a.token);
  const gb = new GatewayClient(server, b.token);
  const gc = new GatewayClient(server, c.token);
  const readyA = await ga.connect();
  const readyB = await gb.connect();
  await gc.connect();
  assert.ok(readyA.d.guilds.some((g) => g.id === guild.id));
  assert.ok(readyB.d.guilds.some((g) => g.id === guild.id));
  assert.equal(readyB.d.user.id, b.id);

  const m1 = await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content: 'hello bob', nonce: 'n1' } });
  assert.equal(m1.status, 201);
  assert.equal(m1.body.nonce, 'n1');
  assert.equal(m1.body.guild_id, guild.id);
  const seenByB = await gb.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === m1.body.id);
  assert.equal(seenByB.d.content, 'hello bob');
  assert.equal(seenByB.d.nonce, 'n1', 'the nonce travels with the event');
  assert.equal(seenByB.d.author.username, a.username);

  const m2 = await api(server, 'POST', `/channels/${text.id}/messages`, { token: b.token, body: { content: 'hi alice ✓' } });
  assert.equal(m2.status, 201);
  assert.equal((await ga.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.id === m2.body.id)).d.content, 'hi alice ✓');

  const edit = await api(server, 'PATCH', `/channels/${text.id}/messages/${m1.body.id}`, { token: a.token, body: { content: 'hello bob (edited)' } });
  assert.equal(edit.status, 200);
  assert.ok(edit.body.edited_at);
  assert.equal((await gb.waitFor((f) => f.t === 'MESSAGE_UPDATE')).d.content, 'hello bob (edited)');

  assert.equal((await api(server, 'POST', `/channels/${text.id}/typing`, { token: b.token })).status, 204);
  const typing = await ga.waitFor((f) => f.t === 'TYPING_START');
  assert.equal(typing.d.user_id, b.id);

  assert.equal((await api(server, 'DELETE', `/channels/${text.id}/messages/${m2.body.id}`, { token: b.token })).status, 204);
  assert.equal((await ga.waitFor((f) => f.t === 'MESSAGE_DELETE')).d.id, m2.body.id);

  const hist = await api(server, 'GET', `/channels/${text.id}/messages`, { token: b.token });
  assert.deepEqual(hist.body.map((m) => m.content), ['hello bob (edited)']);

  // The outsider: no events of this guild, no access by REST.
  await sleep(200);
  assert.equal(gc.frames.filter((f) => f.op === 'dispatch' && f.t !== 'READY').length, 0);
  assert.equal((await api(server, 'GET', `/channels/${text.id}/messages`, { token: c.token })).status, 404);
  assert.equal((await api(server, 'POST', `/channels/${text.id}/messages`, { token: c.token, body: { content: 'x' } })).status, 404);
  assert.equal((await api(server, 'GET', `/guilds/${guild.id}`, { token: c.token })).status, 404);
  await Promise.all([ga.close(), gb.close(), gc.close()]);
});

test('history access: strangers, non-members and members without VIEW_CHANNEL get the same 404; owner, a role or ADMINISTRATOR read', async () => {
  const { a, b, guild, text } = await setupGuild();
  const c = await register(server, 'stranger');
  await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content: 'secret' } });
  const read = (who, query = '') => api(server, 'GET', `/channels/${text.id}/messages${query}`, { token: who.token });
  const VIEW = 1, SEND = 2, MANAGE_CHANNELS = 1 << 5, ADMIN = 1 << 10;
  const everyone = (perms) => api(server, 'PATCH', `/guilds/${guild.id}/roles/${guild.id}`, { token: a.token, body: { permissions: String(perms) } });
  const giveRole = async (name, perms) => {
    const r = await api(server, 'POST', `/guilds/${guild.id}/roles`, { token: a.token, body: { name, permissions: String(perms) } });
    assert.equal(r.status, 201);
    assert.equal((await api(server, 'PUT', `/guilds/${guild.id}/members/${b.id}/roles`, { token: a.token, body: { roles: [r.body.id] } })).status, 200);
  };

  // What "no such channel" answers is what every refused read answers: nothing tells them apart.
  const missing = await api(server, 'GET', '/channels/1234567890/messages', { token: b.token });
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: { code: 'not_found', message: 'channel not found' } });
  const refused = async (who, why) => {
    for (const q of ['', '?limit=50', `?before=${text.id}`, `?after=${text.id}&limit=5`]) {
      const r = await read(who, q);
      assert.equal(r.status, 404, `${why} ${q}`);
      assert.deepEqual(r.body, missing.body, `${why} ${q}`);
    }
    const ch = await api(server, 'GET', `/channels/${text.id}`, { token: who.token });
    assert.equal(ch.status, 404, why);
    const post = await api(server, 'POST', `/channels/${text.id}/messages`, { token: who.token, body: { content: 'x' } });
    assert.equal(post.status, 404, why);
    assert.deepEqual(post.body, missing.body, why);
  };
  const allowed = async (who, why) => {
    const r = await read(who);
    assert.equal(r.status, 200, why);
    assert.deepEqual(r.body.map((m) => m.content), ['secret'], why);
  };

  await refused(c, 'a stranger');
  await allowed(b, 'a member with @everyone');

  // @everyone without VIEW_CHANNEL: the member is refused as a stranger is; the owner is not.
  assert.equal((await everyone(0)).status, 200);
  await refused(b, 'a member without VIEW_CHANNEL');
  await allowed(a, 'the owner');
  await giveRole('managers', MANAGE_CHANNELS | SEND);
  await refused(b, 'a role without VIEW_CHANNEL');
  await giveRole('readers', VIEW);
  await allowed(b, 'a role with VIEW_CHANNEL');
  const send = await api(server, 'POST', `/channels/${text.id}/messages`, { token: b.token, body: { content: 'x' } });
  assert.equal(send.status, 403, 'seeing without SEND_MESSAGES');
  assert.deepEqual(send.body, { error: { code: 'forbidden', message: 'missing permission: SEND_MESSAGES' } });
  await giveRole('admins', ADMIN);
  await allowed(b, 'ADMINISTRATOR');
  assert.equal((await api(server, 'PUT', `/guilds/${guild.id}/members/${b.id}/roles`, { token: a.token, body: { roles: [] } })).status, 200);
  await refused(b, 'roles taken away');
  assert.equal((await everyone(VIEW | SEND)).status, 200);
  await allowed(b, '@everyone with VIEW_CHANNEL again');

  // Leaving makes the member a stranger again.
  assert.equal((await api(server, 'DELETE', `/guilds/${guild.id}/members/${b.id}`, { token: b.token })).status, 204);
  await refused(b, 'a member who left');
});

test('joining by invite is announced and gives the guild to the newcomer', async () => {
  const a = await register(server);
  const g = await api(server, 'POST', '/guilds', { token: a.token, body: { name: 'Invites' } });
  const ga = new GatewayClient(server, a.token);
  await ga.connect();
  const b = await register(server);
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  const inv = await api(server, 'POST', `/guilds/${g.body.id}/invites`, { token: a.token, body: { max_uses: 1 } });
  const info = await api(server, 'GET', `/invites/${inv.body.code}`, { token: b.token });
  assert.equal(info.body.guild.name, 'Invites');
  assert.equal((await api(server, 'POST', `/invites/${inv.body.code}`, { token: b.token })).status, 200);
  const add = await ga.waitFor((f) => f.t === 'GUILD_MEMBER_ADD');
  assert.equal(add.d.user.id, b.id);
  const created = await gb.waitFor((f) => f.t === 'GUILD_CREATE');
  assert.equal(created.d.id, g.body.id);
  assert.ok(created.d.presences.some((p) => p.user_id === a.id && p.status === 'online'), 'the newcomer sees who is online');
  const online = await ga.waitFor((f) => f.t === 'PRESENCE_UPDATE' && f.d.user_id === b.id);
  assert.equal(online.d.status, 'online');
  assert.equal(created.d.channels.length, 2);
  // The newcomer now receives the guild's messages.
  const text = created.d.channels.find((c) => c.kind === 'text');
  await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content: 'welcome' } });
  assert.equal((await gb.waitFor((f) => f.t === 'MESSAGE_CREATE')).d.content, 'welcome');
  // max_uses=1: the code is spent.
  const c = await register(server);
  assert.equal((await api(server, 'POST', `/invites/${inv.body.code}`, { token: c.token })).status, 404);
  assert.equal((await api(server, 'POST', `/invites/${inv.body.code}`, { token: b.token })).status, 409, 'already a member');
  await Promise.all([ga.close(), gb.close()]);
});

test('history pages newest first with before/after/limit', async () => {
  const { a, text } = await setupGuild();
  const ids = [];
  for (let i = 0; i < 120; i++) {
    const r = await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content: `m${i}` } });
    ids.push(r.body.id);
  }
  const first = await api(server, 'GET', `/channels/${text.id}/messages`, { token: a.token });
  assert.equal(first.body.length, 50);
  assert.equal(first.body[0].content, 'm119');
  assert.equal(first.body[49].content, 'm70');
  const next = await api(server, 'GET', `/channels/${text.id}/messages?before=${first.body[49].id}&limit=100`, { token: a.token });
  assert.equal(next.body.length, 70);
  assert.equal(next.body[0].content, 'm69');
  assert.equal(next.body[69].content, 'm0');
  const after = await api(server, 'GET', `/channels/${text.id}/messages?after=${ids[9]}&limit=5`, { token: a.token });
  assert.deepEqual(after.body.map((m) => m.content), ['m14', 'm13', 'm12', 'm11', 'm10']);
  assert.equal((await api(server, 'GET', `/channels/${text.id}/messages?limit=101`, { token: a.token })).status, 400);
  assert.equal((await api(server, 'GET', `/channels/${text.id}/messages?before=abc`, { token: a.token })).status, 400);
});

test('permissions: members cannot manage, authors own their words, kicked users lose access', async () => {
  const { a, b, guild, text } = await setupGuild();
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  const denied = await api(server, 'POST', `/guilds/${guild.id}/channels`, { token: b.token, body: { name: 'nope' } });
  assert.equal(denied.status, 403);
  assert.equal((await api(server, 'PATCH', `/guilds/${guild.id}`, { token: b.token, body: { name: 'mine now' } })).status, 403);
  assert.equal((await api(server, 'DELETE', `/guilds/${guild.id}`, { token: b.token })).status, 403);
  const m = await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content: 'owner words' } });
  assert.equal((await api(server, 'PATCH', `/channels/${text.id}/messages/${m.body.id}`, { token: b.token, body: { content: 'changed' } })).status, 403);
  assert.equal((await api(server, 'DELETE', `/channels/${text.id}/messages/${m.body.id}`, { token: b.token })).status, 403);
  assert.equal((await api(server, 'DELETE', `/guilds/${guild.id}/members/${a.id}`, { token: b.token })).status, 403);

  // A role with MANAGE_CHANNELS lets b create channels; the gateway learns it too.
  const role = await api(server, 'POST', `/guilds/${guild.id}/roles`, { token: a.token, body: { name: 'mods', permissions: String(1 << 5) } });
  assert.equal(role.status, 201);
  assert.equal((await api(server, 'PUT', `/guilds/${guild.id}/members/${b.id}/roles`, { token: a.token, body: { roles: [role.body.id] } })).status, 200);
  const made = await api(server, 'POST', `/guilds/${guild.id}/channels`, { token: b.token, body: { name: 'Mod Talk', kind: 'text' } });
  assert.equal(made.status, 201);
  assert.equal(made.body.name, 'mod-talk');

  // The channel list visible to members includes the new channel, and channel members lists both.
  const members = await api(server, 'GET', `/channels/${text.id}/members`, { token: b.token });
  assert.deepEqual(members.body.map((x) => x.user.id).sort(), [a.id, b.id].sort());

  assert.equal((await api(server, 'DELETE', `/guilds/${guild.id}/members/${b.id}`, { token: a.token })).status, 204);
  const gone = await gb.waitFor((f) => f.t === 'GUILD_DELETE');
  assert.equal(gone.d.id, guild.id);
  assert.equal((await api(server, 'GET', `/channels/${text.id}/messages`, { token: b.token })).status, 404);
  await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content: 'after the kick' } });
  await sleep(200);
  assert.ok(!gb.frames.some((f) => f.t === 'MESSAGE_CREATE' && f.d.content === 'after the kick'));
  await gb.close();
});

test('channels: create, update, reorder, delete are live', async () => {
  const { a, b, guild } = await setupGuild();
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  const v = await api(server, 'POST', `/guilds/${guild.id}/channels`, { token: a.token, body: { name: 'Raid', kind: 'voice', user_limit: 5, bitrate: 96000 } });
  assert.equal(v.status, 201);
  assert.equal(v.body.user_limit, 5);
  assert.equal((await gb.waitFor((f) => f.t === 'CHANNEL_CREATE')).d.id, v.body.id);
  const bad = await api(server, 'POST', `/guilds/${guild.id}/channels`, { token: a.token, body: { name: 'x', kind: 'video' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'kind');
  const upd = await api(server, 'PATCH', `/channels/${v.body.id}`, { token: a.token, body: { name: 'Raid night', user_limit: 10 } });
  assert.equal(upd.body.name, 'Raid night');
  assert.equal((await gb.waitFor((f) => f.t === 'CHANNEL_UPDATE' && f.d.id === v.body.id)).d.user_limit, 10);
  const others = (await api(server, 'GET', `/guilds/${guild.id}/channels`, { token: a.token })).body.filter((c) => c.id !== v.body.id);
  const order = await api(server, 'PATCH', `/guilds/${guild.id}/channels`, { token: a.token, body: [{ id: v.body.id, position: 0 }, ...others.map((c, i) => ({ id: c.id, position: i + 1 }))] });
  assert.equal(order.status, 200);
  assert.deepEqual(order.body.map((c) => c.id), [v.body.id, ...others.map((c) => c.id)]);
  assert.equal((await api(server, 'DELETE', `/channels/${v.body.id}`, { token: a.token })).status, 204);
  assert.equal((await gb.waitFor((f) => f.t === 'CHANNEL_DELETE')).d.id, v.body.id);
  assert.equal((await api(server, 'GET', `/channels/${v.body.id}`, { token: a.token })).status, 404);
  await gb.close();
});

test('resume after a dropped connection replays what was missed', async () => {
  const { a, b, text } = await setupGuild();
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  await gb.waitFor((f) => f.t === 'PRESENCE_UPDATE' && f.d.user_id === b.id);
  const seqBefore = gb.seq;
  await gb.terminate();
  for (const content of ['missed 1', 'missed 2', 'missed 3'])
    await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content } });
  const gb2 = new GatewayClient(server, b.token);
  gb2.sessionId = gb.sessionId;
  gb2.wsUrl = gb.wsUrl;  // the node that holds the session (this test resumes without a cursor)
  const resumed = await gb2.connect({ resume: seqBefore });
  assert.equal(resumed.d.replayed, 3);
  assert.deepEqual(gb2.events('MESSAGE_CREATE').map((f) => f.d.content), ['missed 1', 'missed 2', 'missed 3']);
  const seqs = gb2.frames.filter((f) => f.op === 'dispatch').map((f) => f.s);
  assert.deepEqual(seqs, [seqBefore + 1, seqBefore + 2, seqBefore + 3, seqBefore + 4]);
  // Live again after the replay.
  await api(server, 'POST', `/channels/${text.id}/messages`, { token: a.token, body: { content: 'live' } });
  assert.equal((await gb2.waitFor((f) => f.t === 'MESSAGE_CREATE' && f.d.content === 'live')).s, seqBefore + 5);
  // A made-up session cannot be resumed.
  const bogus = new GatewayClient(server, b.token);
  bogus.sessionId = 'nope';
  bogus.connect({ resume: 1 }).catch(() => {});
  assert.equal((await bogus.closed).code, 4007);
  await gb2.close();
});

test('presence: a member coming online is announced', async () => {
  const { a, b } = await setupGuild();
  const ga = new GatewayClient(server, a.token);
  await ga.connect();
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  const p = await ga.waitFor((f) => f.t === 'PRESENCE_UPDATE' && f.d.user_id === b.id);
  assert.equal(p.d.status, 'online');
  await Promise.all([ga.close(), gb.close()]);
});

test('a clean close ends the session at once: offline, not resumable', async () => {
  const { a, b } = await setupGuild();
  const ga = new GatewayClient(server, a.token);
  await ga.connect();
  const gb = new GatewayClient(server, b.token);
  await gb.connect();
  await ga.waitFor((f) => f.t === 'PRESENCE_UPDATE' && f.d.user_id === b.id && f.d.status === 'online');
  const seq = gb.seq;
  await gb.close();  // close code 1000
  const off = await ga.waitFor((f) => f.t === 'PRESENCE_UPDATE' && f.d.user_id === b.id && f.d.status === 'offline', 3000);
  assert.equal(off.d.status, 'offline');
  const again = new GatewayClient(server, b.token);
  again.sessionId = gb.sessionId;
  again.connect({ resume: seq }).catch(() => {});
  assert.equal((await again.closed).code, 4007);
  await ga.close();
});

test('READY race: every channel created while sessions identify is in READY or arrives after it', async () => {
  // A channel created between the READY snapshot and the session's registration used to be in
  // neither. Channels are created back to back while the same user identifies again and again.
  const { a, b, guild } = await setupGuild();
  const created = [];
  const creator = (async () => {
    for (let i = 0; i < 60; i++) {
      const r = await api(server, 'POST', `/guilds/${guild.id}/channels`, { token: a.token, body: { name: `race-${i}`, kind: 'text' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      created.push(r.body.id);
    }
  })();
  const clients = [];
  for (let i = 0; i < 18; i++) {  // under gateway.max_sessions_per_user (20)
    const g = new GatewayClient(server, b.token);
    await g.connect();
    clients.push(g);
  }
  await creator;
  const last = created.at(-1);
  for (const g of clients) {
    const ready = g.frames.find((f) => f.t === 'READY');
    const known = new Set(ready.d.guilds.find((x) => x.id === guild.id).channels.map((c) => c.id));
    if (!known.has(last)) await g.waitFor((f) => f.t === 'CHANNEL_CREATE' && f.d.id === last);
    for (const f of g.events('CHANNEL_CREATE')) known.add(f.d.id);
    assert.deepEqual(created.filter((id) => !known.has(id)), [], `session ${g.sessionId} missed channels`);
  }
  for (const g of clients) await g.close();
});
