import { afterEach, describe, expect, it, vi } from 'vitest';
import { RtcService } from './rtcService';
import { DEFAULT_SETTINGS } from '../settings/settings';
import type { InboundAudio, PeerInfo, TransportContext, VoiceMode, VoiceTransport } from './transport';
import type { KeyedStats } from './qualityReport';

/** A transport whose inbound audio the test drives: `hear(user)` makes packets flow from user. */
class FakeTransport implements VoiceTransport {
  audible = true;
  closed = false;
  ready = false;
  started = false;
  signals: { from: string; payload: unknown }[] = [];
  private counters: Record<string, number> = {};
  private flowing = new Set<string>();
  private timer = setInterval(() => {
    for (const u of this.flowing) this.counters[u] = (this.counters[u] ?? 0) + 5;
  }, 10);

  constructor(
    readonly mode: VoiceMode,
    readonly ctx: TransportContext,
  ) {}
  hear(user: string, on = true) {
    if (on) this.flowing.add(user);
    else this.flowing.delete(user);
  }
  start() {
    this.started = true;
  }
  voiceState() {}
  signal(from: string, payload: unknown) {
    this.signals.push({ from, payload });
  }
  async publish() {}
  async unpublish() {}
  setPlayback() {}
  async levels() {
    return {};
  }
  peers(): PeerInfo[] {
    return [];
  }
  async refreshStats() {}
  async inbound(): Promise<Record<string, InboundAudio>> {
    const out: Record<string, InboundAudio> = {};
    for (const [u, n] of Object.entries(this.counters)) out[u] = { packetsReceived: n, concealedSamples: 0, totalSamplesReceived: n * 960 };
    return out;
  }
  setAudible(on: boolean) {
    this.audible = on;
  }
  mediaReady() {
    return this.ready;
  }
  closedAt = 0;
  close() {
    this.closed = true;
    this.closedAt ||= Date.now();
    clearInterval(this.timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = (fn: () => void) => vi.waitFor(fn, { timeout: 5000, interval: 10 });
const LINGER_MS = 300;

function setup(opts: { deadlineMs?: number } = {}) {
  const made: FakeTransport[] = [];
  let mode: VoiceMode = 'p2p';
  const joins: string[] = [];
  const store = new Map<string, string>();
  const svc = new RtcService({
    api: {
      post: async (path: string) => {
        joins.push(path);
        return { mode, channel_id: '10', guild_id: '1', participants: [], voice_token: 't', sfu: { url: 'ws://x' } };
      },
      get: async () => [],
    } as never,
    sendGateway: () => {},
    myId: () => '1',
    settings: () => DEFAULT_SETTINGS,
    voiceState: () => undefined,
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
    transportFactory: (m, ctx) => {
      const t = new FakeTransport(m, ctx);
      made.push(t);
      return t;
    },
    switchTiming: { pollMs: 20, deadlineMs: opts.deadlineMs ?? 5000, lingerMs: LINGER_MS, retryMs: 50 },
  });
  return { svc, made, joins, setMode: (m: VoiceMode) => (mode = m) };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe('RtcService mode switch (make before break)', () => {
  it('p2p -> sfu: the SFU stays silent until it carries everyone heard on the mesh, then the mesh closes after the linger', async () => {
    const { svc, made, joins, setMode } = setup();
    cleanup = () => void svc.leave();
    await svc.join('10');
    const mesh = made[0];
    expect(mesh.mode).toBe('p2p');
    mesh.ready = true;
    mesh.hear('2');
    mesh.hear('3');
    setMode('sfu');
    svc.onModeUpdate({ channel_id: '10', mode: 'sfu' });
    await until(() => expect(made).toHaveLength(2));
    const sfu = made[1];
    expect(sfu.mode).toBe('sfu');
    expect(joins).toEqual(['/voice/join/10', '/voice/join/10']); // token refresh
    expect(sfu.started).toBe(true);
    expect(sfu.audible).toBe(false);
    sfu.ready = true;
    sfu.hear('2'); // only one of the two speakers so far: keep the mesh
    await sleep(150);
    expect(svc.mode).toBe('p2p');
    expect(mesh.audible).toBe(true);
    sfu.hear('3');
    await until(() => expect(svc.mode).toBe('sfu'));
    expect(svc.currentTransport).toBe(sfu);
    expect(sfu.audible).toBe(true);
    expect(mesh.audible).toBe(false);
    await until(() => expect(mesh.closed).toBe(true));
    // The mesh kept sending for the linger time after the cut-over (peers that switch later).
    expect(mesh.closedAt - svc.switches[0].at).toBeGreaterThanOrEqual(LINGER_MS - 5);
    expect(svc.switches).toHaveLength(1);
    expect(svc.switches[0]).toMatchObject({ from: 'p2p', to: 'sfu', reason: 'audio flows' });
  });

  it('gateway signals go to the mesh while the SFU is pending, and to the new mesh when going back to p2p', async () => {
    const { svc, made, setMode } = setup();
    cleanup = () => void svc.leave();
    setMode('sfu');
    await svc.join('10');
    const sfu = made[0];
    sfu.ready = true;
    setMode('p2p');
    svc.onModeUpdate({ channel_id: '10', mode: 'p2p' });
    await until(() => expect(made).toHaveLength(2));
    const mesh = made[1];
    svc.onSignal('2', '10', { description: { type: 'offer', sdp: 'x' } });
    expect(mesh.signals).toHaveLength(1);
    expect(sfu.signals).toHaveLength(0);
    mesh.ready = true; // nobody speaks: connected is enough
    await until(() => expect(svc.mode).toBe('p2p'));
    expect(svc.switches[0]).toMatchObject({ from: 'sfu', to: 'p2p', reason: 'connected' });
  });

  it('keeps the old transport when the new one never connects, and tries again', async () => {
    const { svc, made, setMode } = setup({ deadlineMs: 150 });
    cleanup = () => void svc.leave();
    await svc.join('10');
    made[0].hear('2');
    setMode('sfu');
    svc.onModeUpdate({ channel_id: '10', mode: 'sfu' });
    await until(() => expect(made.length).toBeGreaterThanOrEqual(3)); // first try + a retry
    expect(made[1].closed).toBe(true);
    expect(svc.mode).toBe('p2p');
    expect(svc.currentTransport).toBe(made[0]);
    expect(made[0].audible).toBe(true);
    made[2].ready = true; // this time it connects (no audio: deadline, but connected)
    await until(() => expect(svc.mode).toBe('sfu'));
    expect(svc.currentTransport).toBe(made[2]);
  });

  it('a new transport that fails during the switch is dropped and the switch tried again', async () => {
    const { svc, made, setMode } = setup();
    cleanup = () => void svc.leave();
    await svc.join('10');
    setMode('sfu');
    svc.onModeUpdate({ channel_id: '10', mode: 'sfu' });
    await until(() => expect(made).toHaveLength(2));
    made[1].ctx.onFailed?.('sfu signaling closed (1006)');
    expect(made[1].closed).toBe(true);
    expect(svc.currentTransport).toBe(made[0]);
    await until(() => expect(made).toHaveLength(3));
    made[2].ready = true;
    await until(() => expect(svc.mode).toBe('sfu'));
  });

  it('cuts over at the deadline when the new transport never carries the old audio', async () => {
    const { svc, made, setMode } = setup({ deadlineMs: 200 });
    cleanup = () => void svc.leave();
    await svc.join('10');
    made[0].hear('2');
    setMode('sfu');
    svc.onModeUpdate({ channel_id: '10', mode: 'sfu' });
    await until(() => expect(made).toHaveLength(2));
    made[1].ready = true; // connected, but never carries '2'
    await until(() => expect(svc.mode).toBe('sfu'));
    expect(svc.switches[0].reason).toBe('deadline');
    expect(svc.switches[0].waitMs).toBeGreaterThanOrEqual(195);
  });

  it('ignores updates for other channels and for the mode we are in; leaving aborts a switch', async () => {
    const { svc, made, joins, setMode } = setup();
    await svc.join('10');
    svc.onModeUpdate({ channel_id: '11', mode: 'sfu' });
    svc.onModeUpdate({ channel_id: '10', mode: 'p2p' });
    await sleep(50);
    expect(made).toHaveLength(1);
    expect(joins).toHaveLength(1);
    setMode('sfu');
    svc.onModeUpdate({ channel_id: '10', mode: 'sfu' });
    await until(() => expect(made).toHaveLength(2));
    await svc.leave();
    expect(made.every((t) => t.closed)).toBe(true);
    expect(svc.switches).toHaveLength(0);
  });
});

describe('RtcService quality reports', () => {
  class ReportingTransport extends FakeTransport {
    sent: unknown[] = [];
    received = 0;
    async qualityStats(): Promise<KeyedStats[]> {
      this.received += 500;
      return [{ key: 'x', report: new Map([['A', { id: 'A', type: 'inbound-rtp', kind: 'audio', packetsReceived: this.received }]]) }];
    }
  }
  class SfuReportingTransport extends ReportingTransport {
    sendQuality(r: unknown) {
      this.sent.push(r);
    }
  }

  it('P2P reports go to the gateway, SFU reports on the SFU socket, each with the interval\'s deltas', async () => {
    for (const mode of ['p2p', 'sfu'] as const) {
      const gateway: { op: string; d: any }[] = [];
      const made: ReportingTransport[] = [];
      const svc = new RtcService({
        api: { post: async () => ({ mode, channel_id: '10', guild_id: '1', participants: [], voice_token: 't', sfu: { url: 'ws://x' } }), get: async () => [] } as never,
        sendGateway: (op, d) => gateway.push({ op, d: d as any }),
        myId: () => '1',
        settings: () => DEFAULT_SETTINGS,
        voiceState: () => undefined,
        storage: null,
        transportFactory: (m, ctx) => {
          const t = m === 'sfu' ? new SfuReportingTransport(m, ctx) : new ReportingTransport(m, ctx);
          made.push(t);
          return t;
        },
      });
      await svc.join('10');
      await svc.tickQuality(1000);
      await svc.tickQuality(11_000);
      const sent = mode === 'sfu' ? made[0].sent : gateway.filter((g) => g.op === 'quality').map((g) => g.d);
      expect(sent, mode).toHaveLength(1);
      expect(sent[0]).toMatchObject({ interval_s: 10, mode, audio_in: [{ packets_received: 500, packets_lost: 0 }] });
      if (mode === 'sfu') expect(gateway.filter((g) => g.op === 'quality')).toHaveLength(0);
      await svc.leave();
    }
  });
});

describe('RtcService SFU failover', () => {
  function cluster() {
    const made: FakeTransport[] = [];
    const bodies: Record<string, unknown>[] = [];
    let node = 'node-1';
    let refuse = 0; // the next N joins answer an error (the cluster's Redis away)
    const svc = new RtcService({
      api: {
        post: async (_path: string, body?: Record<string, unknown>) => {
          bodies.push(body ?? {});
          if (refuse > 0) {
            refuse--;
            throw new Error('503 coordination_unavailable');
          }
          return { mode: 'sfu', channel_id: '10', guild_id: '1', participants: [], voice_token: 't', sfu: { id: node, url: `ws://${node}` } };
        },
        get: async () => [],
      } as never,
      sendGateway: () => {},
      myId: () => '1',
      settings: () => DEFAULT_SETTINGS,
      voiceState: () => undefined,
      storage: null,
      transportFactory: (m, ctx) => {
        const t = new FakeTransport(m, ctx);
        made.push(t);
        return t;
      },
      switchTiming: { pollMs: 20, deadlineMs: 5000, lingerMs: LINGER_MS, retryMs: 50 },
    });
    return { svc, made, bodies, moveTo: (n: string) => (node = n), refuseNext: (n: number) => (refuse = n) };
  }

  it('a lost SFU connection rejoins at once, naming the node it lost', async () => {
    const { svc, made, bodies, moveTo } = cluster();
    cleanup = () => void svc.leave();
    await svc.join('10');
    expect(bodies[0].sfu_failed).toBeUndefined();
    moveTo('node-2'); // the server moves the channel off the dead node
    made[0].ctx.onFailed?.('sfu signaling closed (1006)');
    await until(() => expect(made).toHaveLength(2));
    expect(made[0].closed).toBe(true);
    expect(bodies[1].sfu_failed).toBe('node-1');
    expect((made[1].ctx.join.sfu as { id: string }).id).toBe('node-2');
    expect(svc.getSnapshot().status).toBe('connected');
  });

  it('a rejoin refused while the cluster cannot decide is tried again after a pause', async () => {
    const { svc, made, bodies, refuseNext } = cluster();
    cleanup = () => void svc.leave();
    await svc.join('10');
    refuseNext(1);
    made[0].ctx.onFailed?.('sfu signaling closed (1006)');
    await until(() => expect(made).toHaveLength(2));
    expect(bodies).toHaveLength(3); // the join, the refused rejoin, the one that worked
    expect(bodies[2].sfu_failed).toBe('node-1');
    expect(svc.getSnapshot().status).toBe('connected');
  });

  it('VOICE_SERVER_UPDATE moves us to the new node make before break; for our own node or another channel, nothing', async () => {
    const { svc, made, moveTo } = cluster();
    cleanup = () => void svc.leave();
    await svc.join('10');
    made[0].ready = true;
    made[0].hear('2');
    svc.onServerUpdate({ channel_id: '10', sfu: { id: 'node-1' } });
    svc.onServerUpdate({ channel_id: '11', sfu: { id: 'node-2' } });
    await sleep(50);
    expect(made).toHaveLength(1);
    moveTo('node-2'); // the draining node-1 moved the channel
    svc.onServerUpdate({ channel_id: '10', sfu: { id: 'node-2' } });
    await until(() => expect(made).toHaveLength(2));
    const next = made[1];
    expect((next.ctx.join.sfu as { id: string }).id).toBe('node-2');
    expect(next.audible).toBe(false); // the old node still carries the audio
    expect(made[0].closed).toBe(false);
    next.ready = true;
    next.hear('2');
    await until(() => expect(svc.currentTransport).toBe(next));
    expect(next.audible).toBe(true);
    await until(() => expect(made[0].closed).toBe(true)); // after the linger
    expect(svc.switches.at(-1)).toMatchObject({ from: 'sfu', to: 'sfu', reason: 'audio flows' });
  });

  it("the node's own server_update and the gateway's VOICE_SERVER_UPDATE make one move between them", async () => {
    const { svc, made, moveTo } = cluster();
    cleanup = () => void svc.leave();
    await svc.join('10');
    made[0].ready = true;
    made[0].hear('2');
    moveTo('node-2');
    made[0].ctx.onServerUpdate?.({ channel_id: '10', sfu: { id: 'node-2' } }); // on /voice, first
    await until(() => expect(made).toHaveLength(2));
    svc.onServerUpdate({ channel_id: '10', sfu: { id: 'node-2' } }); // the gateway's, while moving
    made[1].ready = true;
    made[1].hear('2');
    await until(() => expect(svc.currentTransport).toBe(made[1]));
    await sleep(50);
    expect(made).toHaveLength(2);
  });

  it('state_lost writes our voice state back keeping the session, and the call goes on; a new node is moved to', async () => {
    const { svc, made, bodies, moveTo } = cluster();
    cleanup = () => void svc.leave();
    await svc.join('10');
    made[0].ready = true;
    made[0].hear('2');
    made[0].ctx.onStateLost?.({ channel_id: '11', session: '77' }); // another channel: nothing
    await sleep(30);
    expect(bodies).toHaveLength(1);
    made[0].ctx.onStateLost?.({ channel_id: '10', session: '77' });
    await until(() => expect(bodies).toHaveLength(2));
    expect(bodies[1].session).toBe('77');
    expect(bodies[1].sfu_node).toBe('node-1'); // placed where our call runs
    expect(bodies[1].sfu_failed).toBeUndefined();
    await sleep(50);
    expect(made).toHaveLength(1); // the same node: the connection stays, media never stopped
    expect(made[0].closed).toBe(false);
    expect(svc.getSnapshot().status).toBe('connected');
    // The channel was placed on another node meanwhile: move there, make before break.
    moveTo('node-2');
    made[0].ctx.onStateLost?.({ channel_id: '10', session: '77' });
    await until(() => expect(made).toHaveLength(2));
    expect((made[1].ctx.join.sfu as { id: string }).id).toBe('node-2');
    expect(made[0].closed).toBe(false);
  });
});
