// The Store's promise that nothing typed is lost, transition by transition: guild creation
// (the reported case), channel switches, reloads, sign-out, failing sends, reconnects, token
// refresh, the gateway echo, and channels the client does not know yet. The REST API is a
// fake fetch, the gateway a fake socket; timers of the send retries are driven by hand.
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyValue } from '../api/tokens';
import type { WebSocketLike } from '../gateway/gateway';
import { Store } from './store';

const me = { id: '1', username: 'me' };
const other = { id: '2', username: 'other' };

class MemStorage implements KeyValue {
  map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

class FakeSocket implements WebSocketLike {
  readyState = 1;
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  emit(env: unknown) {
    this.onmessage?.({ data: JSON.stringify(env) });
  }
}

type Reply = Response | Promise<Response> | 'network';
type Route = (method: string, path: string, body: any) => Reply | undefined;

const json = (status: number, body: unknown) => new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const never = () => new Promise<Response>(() => {});
const flush = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const guild = { id: 'g1', name: 'Old', owner_id: '1', created_at: '', my_permissions: '1023' };
const chan = (id: string, guildId: string, name: string, position = 0) => ({ id, guild_id: guildId, name, kind: 'text' as const, position });

let nextId = 100;
const stores: Store[] = [];

/** A signed-in store whose fetch answers through `route` (the default answers sends with 201). */
function harness(opts: { storage?: MemStorage; user?: typeof me | null; route?: Route } = {}) {
  const storage = opts.storage ?? new MemStorage();
  if (!storage.getItem('hype.auth') && opts.user !== null)
    storage.setItem('hype.auth', JSON.stringify({ access_token: 'a1', refresh_token: 'r1', expires_at: Date.now() + 3_600_000, user: opts.user ?? me }));
  const calls: { method: string; path: string; body: any }[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const sockets: FakeSocket[] = [];
  const h = {
    route: opts.route as Route | undefined,
    calls,
    timers,
    storage,
    sockets,
    /** Fires the retry timers scheduled so far. */
    async tick() {
      const due = timers.splice(0);
      for (const t of due) t.fn();
      await flush();
    },
    posts: (path: string) => calls.filter((c) => c.method === 'POST' && c.path === path),
    store: null as unknown as Store,
    ws: () => sockets[sockets.length - 1],
    /** Starts the gateway session: hello -> identify -> READY with `guilds`. */
    async connect(guilds: unknown[] = [{ ...guild, channels: [chan('c1', 'g1', 'general')] }]) {
      h.store.start();
      h.ws().emit({ op: 'hello', d: { heartbeat_interval: 1e9 } });
      await flush();
      h.ws().emit({ op: 'dispatch', t: 'READY', s: 1, d: { session_id: 's1', user: me, guilds, presences: [] } });
      await flush();
    },
  };
  const fetchFn = async (url: string, init?: RequestInit): Promise<Response> => {
    const path = url.replace(/^\/api\/v1/, '');
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, path, body });
    const custom = h.route?.(method, path, body);
    const reply = custom ?? defaultRoute(method, path, body);
    if (reply === 'network') throw new TypeError('Failed to fetch');
    return reply;
  };
  h.store = new Store({
    storage,
    fetchFn,
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    gatewayUrl: 'ws://test/gateway',
    setTimeout: (fn, ms) => timers.push({ fn, ms }),
  });
  stores.push(h.store);
  return h;
}

function defaultRoute(method: string, path: string, body: any): Reply {
  const m = /^\/channels\/(\w+)\/messages(?:\?.*)?$/.exec(path);
  if (m && method === 'POST') return json(201, { id: String(nextId++), channel_id: m[1], guild_id: 'g1', author_id: '1', author: me, content: body.content, created_at: new Date().toISOString(), edited_at: null, nonce: body.nonce });
  if (m && method === 'GET') return json(200, []);
  return json(404, { error: { code: 'not_found', message: 'no route ' + path } });
}

const items = (s: Store, channelId: string) => (s.getState().messages[channelId]?.items ?? []).map((m) => [m.content, m.state ?? 'sent']);

afterEach(() => {
  for (const s of stores.splice(0)) s.gateway.stop();
});

describe('the reported case: a message sent right after creating a guild', () => {
  it('createGuild shows #general as soon as GUILD_CREATE arrives, without waiting for a slow GET', async () => {
    // The server answers POST /guilds at once, then takes its time with GET /guilds/:id.
    const h = harness({
      route: (method, path) => {
        if (method === 'POST' && path === '/guilds') return json(201, { id: 'g2', name: 'New', owner_id: '1', created_at: '' });
        if (method === 'GET' && path.startsWith('/guilds/g2')) return never();
        return undefined;
      },
    });
    await h.connect();
    const created = h.store.createGuild('New');
    await flush();
    // GUILD_CREATE with its channels arrives over the gateway.
    h.ws().emit({ op: 'dispatch', t: 'GUILD_CREATE', s: 2, d: { id: 'g2', name: 'New', owner_id: '1', created_at: '', my_permissions: '1023', channels: [chan('c2', 'g2', 'general')] } });
    // The create dialog closes when this resolves; while it stays open the page behind it
    // (already showing #general) takes no typing: the message typed there went nowhere.
    const outcome = await Promise.race([created.then(() => 'resolved'), new Promise((r) => setTimeout(() => r('still waiting'), 200))]);
    expect(outcome).toBe('resolved');
    expect(h.store.currentChannelId()).toBe('c2');
    // Typed and sent at once: delivered to the new #general, and the box is empty.
    h.store.setDraft('c2', 'first!');
    expect(h.store.sendDraft('c2')).toBe(true);
    await flush();
    expect(h.posts('/channels/c2/messages').map((c) => c.body.content)).toEqual(['first!']);
    expect(items(h.store, 'c2')).toEqual([['first!', 'sent']]);
    expect(h.store.getState().drafts.c2).toBeUndefined();
  });

  it('createGuild falls back to GET /guilds/:id when the gateway is not there', async () => {
    const h = harness({
      route: (method, path) => {
        if (method === 'POST' && path === '/guilds') return json(201, { id: 'g3', name: 'N', owner_id: '1', created_at: '' });
        if (method === 'GET' && path === '/guilds/g3') return json(200, { id: 'g3', name: 'N', owner_id: '1', created_at: '', my_permissions: '1023', channels: [chan('c3', 'g3', 'general')], members: [] });
        if (method === 'GET' && path.startsWith('/guilds/g3/members')) return json(200, []);
        return undefined;
      },
    });
    await h.store.createGuild('N');
    expect(h.store.currentChannelId()).toBe('c3');
  });
});

describe('drafts', () => {
  it('are kept per channel across switches and reloads, per user, and go with an explicit logout', async () => {
    const storage = new MemStorage();
    const h = harness({ storage });
    await h.connect([{ ...guild, channels: [chan('c1', 'g1', 'general'), chan('c9', 'g1', 'random', 1)] }]);
    h.store.setDraft('c1', 'half a thought');
    h.store.selectChannel('c9');
    h.store.setDraft('c9', 'another');
    h.store.selectChannel('c1');
    expect(h.store.getState().drafts).toEqual({ c1: 'half a thought', c9: 'another' });
    // Reload: a new page, same storage.
    const again = harness({ storage });
    expect(again.store.getState().drafts).toEqual({ c1: 'half a thought', c9: 'another' });
    // Another account on this browser sees none of it.
    const otherStorage = new MemStorage();
    for (const [k, v] of storage.map) if (k !== 'hype.auth') otherStorage.setItem(k, v);
    const stranger = harness({ storage: otherStorage, user: other });
    expect(stranger.store.getState().drafts).toEqual({});
    // A session that ends on its own (refresh refused) keeps them for next time...
    again.store.tokens.clear();
    expect(again.store.getState().drafts).toEqual({});
    expect(storage.getItem('hype.drafts.1')).not.toBeNull();
    // ...an explicit logout removes them from the device.
    storage.setItem('hype.auth', JSON.stringify({ access_token: 'a', refresh_token: 'r', expires_at: Date.now() + 3_600_000, user: me }));
    const third = harness({ storage, route: (_m, p) => (p === '/auth/logout' ? json(204, null) : undefined) });
    expect(third.store.getState().drafts.c1).toBe('half a thought');
    await third.store.logout();
    expect(storage.getItem('hype.drafts.1')).toBeNull();
    expect(third.store.getState().drafts).toEqual({});
  });

  it('adopts the drafts of the older, unkeyed storage', () => {
    const storage = new MemStorage();
    storage.setItem('hype.drafts', JSON.stringify({ c1: 'from before' }));
    const h = harness({ storage });
    expect(h.store.getState().drafts).toEqual({ c1: 'from before' });
    expect(storage.getItem('hype.drafts')).toBeNull();
  });

  it('the box is emptied only when the message is queued', () => {
    // A stored session without a user (an older client wrote it): nobody to send as yet.
    const storage = new MemStorage();
    storage.setItem('hype.auth', JSON.stringify({ access_token: 'a', refresh_token: 'r', expires_at: Date.now() + 3_600_000, user: null }));
    const h = harness({ storage });
    h.store.setDraft('c1', 'keep me');
    expect(h.store.sendDraft('c1')).toBe(false);
    expect(h.store.getState().drafts.c1).toBe('keep me');
    expect(h.calls).toEqual([]);
  });
});

describe('sending', () => {
  it('goes to the channel on screen when Enter was pressed, even after switching away', async () => {
    const h = harness({ route: (m, p) => (m === 'POST' && p === '/channels/c1/messages' ? never() : undefined) });
    await h.connect([{ ...guild, channels: [chan('c1', 'g1', 'general'), chan('c9', 'g1', 'random', 1)] }]);
    h.store.setDraft('c1', 'for general');
    h.store.sendDraft('c1');
    h.store.selectChannel('c9');
    await flush();
    expect(h.posts('/channels/c1/messages')).toHaveLength(1);
    expect(h.posts('/channels/c9/messages')).toHaveLength(0);
    expect(items(h.store, 'c1')).toEqual([['for general', 'sending']]);
  });

  it('to a channel the client does not know yet is queued and delivered', async () => {
    const h = harness();
    expect(h.store.sendMessage('unknown', 'hello?')).toBe(true);
    await flush();
    expect(items(h.store, 'unknown')).toEqual([['hello?', 'sent']]);
    expect(h.store.unsent()).toEqual([]);
  });

  it('that fails on the network retries, shows failed, and goes again when the gateway is back', async () => {
    let down = true;
    const h = harness({ route: (m, p) => (down && m === 'POST' && p.startsWith('/channels/') ? 'network' : undefined) });
    await h.connect();
    h.store.sendMessage('c1', 'through the tunnel');
    await flush();
    expect(items(h.store, 'c1')).toEqual([['through the tunnel', 'sending']]);
    for (let i = 0; i < 3; i++) await h.tick();
    expect(h.posts('/channels/c1/messages')).toHaveLength(4);
    expect(items(h.store, 'c1')).toEqual([['through the tunnel', 'failed']]);
    expect(h.store.unsent().map((e) => e.content)).toEqual(['through the tunnel']);
    // The connection comes back: the gateway resumes and the message goes by itself.
    down = false;
    const before = h.sockets.length;
    h.ws().onclose?.({ code: 1006, reason: '' });
    // The gateway's reconnect timer is a real one (0.5-1 s for the first attempt).
    for (let i = 0; i < 60 && h.sockets.length === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(h.sockets.length).toBe(before + 1);
    h.ws().emit({ op: 'hello', d: { heartbeat_interval: 1e9 } });
    await flush();
    h.ws().emit({ op: 'dispatch', t: 'RESUMED', s: 2, d: {} });
    await flush();
    expect(items(h.store, 'c1')).toEqual([['through the tunnel', 'sent']]);
    expect(h.store.unsent()).toEqual([]);
  });

  it('refused by the server shows failed with the reason and waits for Retry', async () => {
    let refuse = true;
    const h = harness({ route: (m, p) => (refuse && m === 'POST' && p.startsWith('/channels/') ? json(403, { error: { code: 'forbidden', message: 'Missing SEND_MESSAGES' } }) : undefined) });
    await h.connect();
    h.store.sendMessage('c1', 'let me in');
    await flush();
    const failed = h.store.getState().messages.c1.items[0];
    expect([failed.state, failed.error]).toEqual(['failed', 'Missing SEND_MESSAGES']);
    h.store.retrySend('c1', failed.nonce!); // still refused
    await flush();
    refuse = false;
    h.ws().emit({ op: 'dispatch', t: 'RESUMED', s: 2, d: {} }); // a reconnect does not resend a refusal
    await flush();
    expect(h.posts('/channels/c1/messages')).toHaveLength(2);
    h.store.retrySend('c1', failed.nonce!);
    await flush();
    expect(items(h.store, 'c1')).toEqual([['let me in', 'sent']]);
    // Discard is the only other way out.
    refuse = true;
    h.store.sendMessage('c1', 'never mind');
    await flush();
    h.store.discardFailed('c1', h.store.unsent()[0].nonce);
    expect(items(h.store, 'c1')).toEqual([['let me in', 'sent']]);
    expect(h.store.unsent()).toEqual([]);
  });

  it('the gateway echo (by nonce) confirms it once and stops a pending retry', async () => {
    // The POST reached the server but its answer was lost; the echo tells us it is there.
    let nonce = '';
    const h = harness({
      route: (m, p, body) => {
        if (m === 'POST' && p === '/channels/c1/messages') {
          nonce = body.nonce;
          return 'network';
        }
        return undefined;
      },
    });
    await h.connect();
    await h.store.loadLatest('c1'); // the channel is open
    h.store.sendMessage('c1', 'once');
    await flush();
    h.ws().emit({ op: 'dispatch', t: 'MESSAGE_CREATE', s: 2, d: { id: '500', channel_id: 'c1', guild_id: 'g1', author_id: '1', author: me, content: 'once', created_at: '', edited_at: null, nonce } });
    await flush();
    await h.tick(); // the retry that was scheduled finds nothing to send
    expect(h.posts('/channels/c1/messages')).toHaveLength(1);
    expect(items(h.store, 'c1')).toEqual([['once', 'sent']]);
    expect(h.store.unsent()).toEqual([]);
  });

  it('survives an access token refresh in the middle', async () => {
    let expired = true;
    const h = harness({
      route: (m, p) => {
        if (p === '/auth/refresh') {
          expired = false;
          return json(200, { access_token: 'a2', refresh_token: 'r2', expires_in: 900 });
        }
        if (expired && m === 'POST' && p.startsWith('/channels/')) return json(401, { error: { code: 'token_expired', message: 'expired' } });
        return undefined;
      },
    });
    await h.connect();
    h.store.sendMessage('c1', 'after refresh');
    await flush();
    expect(items(h.store, 'c1')).toEqual([['after refresh', 'sent']]);
  });

  it('is kept for the same user when the session is lost mid-send, and on reload', async () => {
    const storage = new MemStorage();
    const h = harness({
      storage,
      route: (m, p) => {
        if (p === '/auth/refresh') return json(401, { error: { code: 'unauthorized', message: 'revoked' } });
        if (m === 'POST' && p.startsWith('/channels/')) return json(401, { error: { code: 'token_expired', message: 'expired' } });
        return undefined;
      },
    });
    await h.connect();
    h.store.sendMessage('c1', 'do not lose me');
    await flush();
    expect(h.store.signedIn).toBe(false); // the refresh was refused: signed out
    // Signed in again (a new page here): the message is back, failed, with Retry.
    storage.setItem('hype.auth', JSON.stringify({ access_token: 'a', refresh_token: 'r', expires_at: Date.now() + 3_600_000, user: me }));
    const again = harness({ storage });
    expect(items(again.store, 'c1')).toEqual([['do not lose me', 'failed']]);
    again.store.retrySend('c1', again.store.unsent()[0].nonce);
    await flush();
    expect(items(again.store, 'c1')).toEqual([['do not lose me', 'sent']]);
    expect(storage.getItem('hype.outbox.1')).toBeNull();
  });
});
