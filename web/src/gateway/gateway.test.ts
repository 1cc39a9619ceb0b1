import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from './backoff';
import { GatewayClient, type WebSocketLike } from './gateway';

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: any[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  closedWith: number | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // server side helpers
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  recv(env: unknown) {
    this.onmessage?.({ data: JSON.stringify(env) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  ops() {
    return this.sent.map((e) => e.op);
  }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function make(opts: Partial<ConstructorParameters<typeof GatewayClient>[0]> = {}) {
  let token = 'tok1';
  const refresh = vi.fn(async () => {
    token = 'tok2';
  });
  const gw = new GatewayClient({
    url: 'ws://x/gateway',
    getToken: async () => token,
    forceRefresh: refresh,
    createSocket: (u) => new FakeSocket(u),
    random: () => 1, // deterministic backoff (upper bound)
    ...opts,
  });
  const events: string[] = [];
  const statuses: string[] = [];
  gw.on({ dispatch: (t) => events.push(t), status: (s) => statuses.push(s) });
  return { gw, events, statuses, refresh };
}

async function handshake(ws: FakeSocket, sessionId = 'sess1') {
  ws.open();
  ws.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
  await flush();
  ws.recv({ op: 'dispatch', t: 'READY', s: 1, d: { session_id: sessionId, user: { id: '1', username: 'a' }, guilds: [], presences: [] } });
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe('backoff', () => {
  it('doubles up to the cap with jitter between half and full', () => {
    expect(backoffDelay(0, { random: () => 1 })).toBe(1000);
    expect(backoffDelay(0, { random: () => 0 })).toBe(500);
    expect(backoffDelay(3, { random: () => 1 })).toBe(8000);
    expect(backoffDelay(20, { random: () => 1 })).toBe(30000);
    expect(backoffDelay(20, { random: () => 0 })).toBe(15000);
  });
});

describe('GatewayClient', () => {
  it('identifies after hello, heartbeats, and tracks seq', async () => {
    const { gw, events } = make();
    gw.start();
    const ws = FakeSocket.all[0];
    await handshake(ws);
    expect(ws.sent[0]).toEqual({ op: 'identify', d: { token: 'tok1' } });
    expect(events).toEqual(['READY']);
    expect(gw.state.status).toBe('ready');
    ws.recv({ op: 'dispatch', t: 'MESSAGE_CREATE', s: 2, d: {} });
    expect(gw.state.seq).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(ws.ops()).toContain('heartbeat');
  });

  it('resumes with session_id and last seq after a drop, with backoff', async () => {
    const { gw, statuses } = make();
    gw.start();
    await handshake(FakeSocket.all[0]);
    FakeSocket.all[0].recv({ op: 'dispatch', t: 'MESSAGE_CREATE', s: 5, d: {} });
    FakeSocket.all[0].drop(1006);
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    const ws2 = FakeSocket.all[1];
    ws2.open();
    ws2.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    expect(ws2.sent[0]).toEqual({ op: 'resume', d: { token: 'tok1', session_id: 'sess1', seq: 5 } });
    ws2.recv({ op: 'dispatch', t: 'RESUMED', s: 6, d: { session_id: 'sess1', replayed: 0 } });
    expect(gw.state.status).toBe('ready');
    expect(gw.state.attempt).toBe(0);
  });

  it('keeps the last stream cursor "c" and sends it with the resume (any node can resume)', async () => {
    const { gw } = make();
    gw.start();
    await handshake(FakeSocket.all[0]);
    FakeSocket.all[0].recv({ op: 'dispatch', t: 'MESSAGE_CREATE', s: 2, c: '1700000000000-0', d: {} });
    FakeSocket.all[0].recv({ op: 'dispatch', t: 'TYPING_START', s: 3, c: '1700000000001-4', d: {} });
    FakeSocket.all[0].recv({ op: 'dispatch', t: 'VOICE_SIGNAL', s: 4, d: {} }); // no cursor: kept
    expect(gw.state.cursor).toBe('1700000000001-4');
    FakeSocket.all[0].drop(1006);
    vi.advanceTimersByTime(1000);
    const ws2 = FakeSocket.all[1];
    ws2.open();
    ws2.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    expect(ws2.sent[0]).toEqual({
      op: 'resume',
      d: { token: 'tok1', session_id: 'sess1', seq: 4, cursor: '1700000000001-4' },
    });
    // Refused (history gone): identify afresh, without the old cursor.
    ws2.drop(4007);
    const ws3 = FakeSocket.all.at(-1)!;
    ws3.open();
    ws3.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    expect(ws3.sent[0].op).toBe('identify');
    expect(gw.state.cursor).toBeNull();
  });

  it('backs off exponentially while the server stays down', async () => {
    const { gw } = make();
    gw.start();
    FakeSocket.all[0].drop(1006);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = FakeSocket.all.length;
      let waited = 0;
      while (FakeSocket.all.length === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      delays.push(waited);
      FakeSocket.all.at(-1)!.drop(1006);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
  });

  it('an invalid resume (4007) identifies anew at once', async () => {
    const { gw } = make();
    gw.start();
    await handshake(FakeSocket.all[0]);
    FakeSocket.all[0].drop(1006);
    vi.advanceTimersByTime(1000);
    const ws2 = FakeSocket.all[1];
    ws2.open();
    ws2.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    expect(ws2.ops()).toEqual(['resume']);
    ws2.drop(4007);
    expect(FakeSocket.all).toHaveLength(3);
    const ws3 = FakeSocket.all[2];
    ws3.open();
    ws3.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    expect(ws3.ops()).toEqual(['identify']);
  });

  it('refreshes the token once when authentication fails (4004)', async () => {
    const { gw, refresh } = make();
    const failed = vi.fn();
    gw.on({ authFailed: failed });
    gw.start();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    ws.drop(4004);
    await flush();
    expect(refresh).toHaveBeenCalledTimes(1);
    const ws2 = FakeSocket.all[1];
    ws2.open();
    ws2.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    expect(ws2.sent[0]).toEqual({ op: 'identify', d: { token: 'tok2' } });
    ws2.drop(4004); // still refused: give up and sign out
    await flush();
    expect(failed).toHaveBeenCalled();
    expect(gw.state.status).toBe('closed');
  });

  it('detects a zombie connection when heartbeats are not acked', async () => {
    const { gw } = make();
    gw.start();
    const ws = FakeSocket.all[0];
    await handshake(ws);
    vi.advanceTimersByTime(1000); // beat 1
    vi.advanceTimersByTime(1000); // no ack: close and reconnect
    expect(ws.closedWith).toBe(4900);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('keeps acked connections alive', async () => {
    const { gw } = make();
    gw.start();
    const ws = FakeSocket.all[0];
    await handshake(ws);
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(1000);
      ws.recv({ op: 'heartbeat_ack' });
    }
    expect(ws.closedWith).toBeNull();
    expect(ws.ops().filter((o) => o === 'heartbeat')).toHaveLength(5);
  });

  it('queues ops while offline and flushes them after the session is back', async () => {
    const { gw } = make();
    gw.start();
    await handshake(FakeSocket.all[0]);
    FakeSocket.all[0].drop(1006);
    expect(gw.send('voice_signal', { to: '2', payload: 1 })).toBe(false);
    expect(gw.send('typing', { channel_id: '3' }, true)).toBe(false);
    vi.advanceTimersByTime(1000);
    const ws2 = FakeSocket.all[1];
    ws2.open();
    ws2.recv({ op: 'hello', d: { heartbeat_interval: 1000 } });
    await flush();
    ws2.recv({ op: 'dispatch', t: 'RESUMED', s: 2, d: {} });
    expect(ws2.ops()).toEqual(['resume', 'voice_signal']);
  });

  it('stop() closes cleanly and never reconnects', async () => {
    const { gw } = make();
    gw.start();
    await handshake(FakeSocket.all[0]);
    gw.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(FakeSocket.all[0].closedWith).toBe(1000);
  });
});
