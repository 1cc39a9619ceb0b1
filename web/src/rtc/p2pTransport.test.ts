// P2PTransport's connection ids (sid / to_sid) and the replacement of a connection that never
// comes up, with a signaling-state model of RTCPeerConnection (no media, no ICE).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { P2PTransport } from './p2pTransport';
import type { TransportContext } from './transport';

class FakePC {
  static all: FakePC[] = [];
  signalingState: RTCSignalingState = 'stable';
  connectionState = 'new';
  iceConnectionState = 'new';
  iceGatheringState = 'new';
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  remoteDescription: { type: RTCSdpType; sdp?: string } | null = null;
  closed = false;
  restarts = 0;
  onnegotiationneeded: (() => void) | null = null;
  constructor() {
    FakePC.all.push(this);
  }
  addTrack() {
    return { replaceTrack: async () => {} };
  }
  addTransceiver() {
    return { sender: { replaceTrack: async () => {} } };
  }
  getReceivers() {
    return [];
  }
  async createOffer() {
    return { type: 'offer' as const, sdp: `offer ${FakePC.all.indexOf(this)} r${this.restarts}` };
  }
  async createAnswer() {
    return { type: 'answer' as const, sdp: `answer ${FakePC.all.indexOf(this)}` };
  }
  async setLocalDescription(d: { type: RTCSdpType; sdp?: string }) {
    if (d.type === 'rollback') this.signalingState = 'stable';
    else if (d.type === 'offer') this.signalingState = 'have-local-offer';
    else this.signalingState = 'stable';
    if (d.type !== 'rollback') this.localDescription = { type: d.type, sdp: d.sdp ?? '' };
  }
  async setRemoteDescription(d: { type: RTCSdpType; sdp?: string }) {
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
    this.remoteDescription = d;
  }
  async addIceCandidate() {}
  restartIce() {
    this.restarts++;
  }
  close() {
    this.closed = true;
  }
}

const saved: Record<string, unknown> = {};
beforeAll(() => {
  const g = globalThis as Record<string, unknown>;
  for (const k of ['RTCPeerConnection', 'MediaStream', 'Audio']) saved[k] = g[k];
  g.RTCPeerConnection = FakePC;
  g.MediaStream = class {};
  g.Audio = class {
    volume = 1;
    muted = false;
    srcObject: unknown = null;
    pause() {}
    async play() {}
  };
});
afterAll(() => Object.assign(globalThis, saved));
afterEach(() => vi.useRealTimers());

interface Sent {
  to: string;
  payload: { sid?: string; to_sid?: string; description?: { type: string }; offerId?: number };
}

function transport() {
  const sent: Sent[] = [];
  const logs: string[] = [];
  const ctx: TransportContext = {
    myId: '1',
    join: { mode: 'p2p', channel_id: '10', guild_id: '1', participants: [], ice_servers: [] },
    forceRelay: false,
    localTrack: null,
    localStream: null,
    sendSignal: (to, payload) => void sent.push({ to, payload: payload as Sent['payload'] }),
    onChange: () => {},
    log: (m) => void logs.push(m),
  };
  return { t: new P2PTransport(ctx), sent, logs };
}
const vs = (user_id: string) => ({ guild_id: '1', channel_id: '10', user_id, self_mute: false, self_deaf: false });
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('P2PTransport connection ids', () => {
  it('tags signals with the connection id, drops those meant for another connection of ours, and replaces ours when the peer made a new one', async () => {
    FakePC.all = [];
    const { t, sent, logs } = transport();
    t.signal('2', { sid: 'peerA', description: { type: 'offer', sdp: 'x' }, offerId: 1 });
    await vi.waitFor(() => expect(sent.some((s) => s.payload.description?.type === 'answer')).toBe(true));
    const answer = sent.find((s) => s.payload.description?.type === 'answer')!;
    const mine = t.link('2')!.localSession;
    expect(answer.payload).toMatchObject({ sid: mine, to_sid: 'peerA', answerTo: 1 });

    // A candidate for a connection of ours that no longer exists is dropped.
    t.signal('2', { sid: 'peerA', to_sid: 'gone', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' } });
    expect(t.diagnostics().dropped.earlierJoin).toBe(1);
    expect(FakePC.all).toHaveLength(1);

    // The peer's new connection (a new sid): ours is replaced by a fresh one that answers it.
    t.signal('2', { sid: 'peerB', description: { type: 'offer', sdp: 'y' }, offerId: 1 });
    expect(FakePC.all).toHaveLength(2);
    expect(FakePC.all[0].closed).toBe(true);
    expect(t.link('2')!.localSession).not.toBe(mine);
    expect(t.link('2')!.remoteSession).toBe('peerB');
    expect(logs.some((l) => l.includes('made a new connection'))).toBe(true);
    t.close();
  });

  it('a connection that stays "new" through an ICE restart is replaced by a new one with a new id', async () => {
    vi.useFakeTimers();
    FakePC.all = [];
    const { t, sent, logs } = transport();
    t.voiceState(vs('2'));
    const first = t.link('2')!;
    // Nobody answers: after 10 s the pair is stalled (ICE restart offer), offers are retried,
    // and 25 s after it was made the connection that never came up is replaced.
    for (let s = 0; s < 12; s++) {
      await vi.advanceTimersByTimeAsync(1000);
      await flush();
    }
    expect(FakePC.all[0].restarts).toBe(1);
    expect(logs.some((l) => l.includes('ICE restart offer'))).toBe(true);
    expect(t.link('2')).toBe(first);
    for (let s = 0; s < 30 && t.link('2') === first; s++) {
      await vi.advanceTimersByTimeAsync(1000);
      await flush();
    }
    const second = t.link('2')!;
    expect(second).not.toBe(first);
    expect(FakePC.all[0].closed).toBe(true);
    expect(second.localSession).not.toBe(first.localSession);
    expect(t.diagnostics().resets).toBe(1);
    expect(logs.some((l) => l.includes('never came up: replacing it'))).toBe(true);
    // The replacement offers under its own id, with no to_sid: the peer sees a new connection.
    await second.negotiator.negotiationNeeded();
    const last = sent[sent.length - 1].payload;
    expect(last.sid).toBe(second.localSession);
    expect(last.description?.type).toBe('offer');
    t.close();
  });

  it('a connection that came up is never replaced', async () => {
    vi.useFakeTimers();
    FakePC.all = [];
    const { t } = transport();
    t.voiceState(vs('2'));
    const link = t.link('2')!;
    FakePC.all[0].connectionState = 'connected';
    await vi.advanceTimersByTimeAsync(3000);
    FakePC.all[0].connectionState = 'disconnected'; // the ICE watchdog's case, not a replacement
    for (let s = 0; s < 40; s++) await vi.advanceTimersByTimeAsync(1000);
    expect(t.link('2')).toBe(link);
    expect(t.diagnostics().resets).toBe(0);
    t.close();
  });
});
