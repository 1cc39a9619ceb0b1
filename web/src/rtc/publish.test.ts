// Publishing through both transports, with just enough of WebRTC faked to see which
// sections are added, which tracks are swapped and when SFU offers go out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { P2PTransport } from './p2pTransport';
import { SfuTransport } from './sfuTransport';
import type { TransportContext } from './transport';

type Track = { id: string; kind: string };
const track = (id: string): MediaStreamTrack => ({ id, kind: 'audio', enabled: true }) as unknown as MediaStreamTrack;

class FakeSender {
  constructor(public track: Track | null) {}
  async replaceTrack(t: Track | null) {
    this.track = t;
  }
}

class FakePC {
  static all: FakePC[] = [];
  /** Every section we added: how, and with which initial track/direction. */
  added: { how: 'addTrack' | 'addTransceiver'; direction: string; sender: FakeSender }[] = [];
  removed: FakeSender[] = [];
  signalingState = 'stable';
  connectionState = 'new';
  iceConnectionState = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  offers = 0;
  ontrack: ((ev: unknown) => void) | null = null;
  constructor() {
    FakePC.all.push(this);
  }
  addTrack(t: Track) {
    const sender = new FakeSender(t);
    this.added.push({ how: 'addTrack', direction: 'sendrecv', sender });
    return sender;
  }
  addTransceiver(t: Track | string, init: { direction: string }) {
    const sender = new FakeSender(typeof t === 'string' ? null : t);
    this.added.push({ how: 'addTransceiver', direction: init.direction, sender });
    return { sender, direction: init.direction };
  }
  /** Codec preferences set per transceiver (by sender), as MIME types. */
  prefs = new Map<FakeSender, string[]>();
  getTransceivers() {
    return this.added.map((a) => ({
      sender: a.sender,
      setCodecPreferences: (codecs: { mimeType: string }[]) => this.prefs.set(a.sender, codecs.map((c) => c.mimeType)),
    }));
  }
  removeTrack(s: FakeSender) {
    this.removed.push(s);
    s.track = null;
  }
  sender(i: number) {
    return this.added[i].sender;
  }
  getReceivers() {
    return [];
  }
  async createOffer() {
    this.offers++;
    return { type: 'offer', sdp: `offer ${this.offers}` };
  }
  async setLocalDescription(d: { type: string; sdp: string }) {
    this.localDescription = d;
    this.signalingState = 'have-local-offer';
  }
  async setRemoteDescription() {
    this.signalingState = 'stable';
  }
  restartIce() {}
  close() {}
}

const saved: Record<string, unknown> = {};
beforeAll(() => {
  const g = globalThis as Record<string, unknown>;
  for (const k of ['RTCPeerConnection', 'RTCRtpReceiver', 'MediaStream', 'Audio']) saved[k] = g[k];
  g.RTCPeerConnection = FakePC;
  // Chromium's audio capabilities, RED after Opus as it offers them.
  g.RTCRtpReceiver = { getCapabilities: () => ({ codecs: [{ mimeType: 'audio/opus' }, { mimeType: 'audio/red' }, { mimeType: 'audio/PCMU' }] }) };
  g.MediaStream = class {
    id = Math.random().toString(36).slice(2);
    constructor(readonly tracks: Track[] = []) {}
  };
  g.Audio = class {
    volume = 1;
    muted = false;
    autoplay = false;
    srcObject: unknown = null;
    pause() {}
    async play() {}
  };
});
afterAll(() => Object.assign(globalThis, saved));

function ctx(over: Partial<TransportContext> = {}): TransportContext {
  return {
    myId: '1',
    join: { mode: 'p2p', channel_id: '10', guild_id: '1', participants: [], ice_servers: [] },
    forceRelay: false,
    localTrack: track('mic1'),
    localStream: new MediaStream(),
    sendSignal: () => {},
    onChange: () => {},
    log: () => {},
    ...over,
  };
}
const vs = (user_id: string) => ({ guild_id: '1', channel_id: '10', user_id, self_mute: false, self_deaf: false });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('P2PTransport.publish', () => {
  it('swaps the microphone in place; another source adds a section on every link, also on links made later', async () => {
    FakePC.all = [];
    const t = new P2PTransport(ctx());
    t.voiceState(vs('2'));
    const [pc2] = FakePC.all;
    expect(pc2.added.map((a) => [a.how, a.sender.track?.id])).toEqual([['addTrack', 'mic1']]);

    await t.publish('mic', track('mic2'));
    expect(pc2.added).toHaveLength(1); // no renegotiation for a device change
    expect(pc2.sender(0).track?.id).toBe('mic2');

    await t.publish('screen_audio', track('tab1'));
    expect(pc2.added.map((a) => [a.how, a.sender.track?.id])).toEqual([
      ['addTrack', 'mic2'],
      ['addTrack', 'tab1'],
    ]);
    await t.publish('screen_audio', track('tab2')); // the same source again: swapped
    expect(pc2.added).toHaveLength(2);
    expect(pc2.sender(1).track?.id).toBe('tab2');

    t.voiceState(vs('3'));
    await settle();
    const pc3 = FakePC.all[1];
    expect(pc3.added.map((a) => a.sender.track?.id)).toEqual(['mic2', 'tab2']);

    await t.unpublish('screen_audio');
    expect(pc2.removed).toEqual([pc2.sender(1)]);
    expect(pc3.removed).toEqual([pc3.sender(1)]);
    expect(pc2.sender(0).track?.id).toBe('mic2'); // the microphone is untouched
    t.close();
  });

  it('puts RED first for the microphone, a listen-only section and another audio source', async () => {
    FakePC.all = [];
    const RED_FIRST = ['audio/red', 'audio/opus', 'audio/PCMU'];
    const t = new P2PTransport(ctx());
    t.voiceState(vs('2'));
    const [pc2] = FakePC.all;
    expect(pc2.prefs.get(pc2.sender(0))).toEqual(RED_FIRST);
    await t.publish('screen_audio', track('tab1'));
    expect(pc2.prefs.get(pc2.sender(1))).toEqual(RED_FIRST);
    await t.unpublish('mic');
    t.voiceState(vs('3'));
    const pc3 = FakePC.all[1];
    expect(pc3.added[0].direction).toBe('recvonly');
    expect(pc3.prefs.get(pc3.sender(0))).toEqual(RED_FIRST);
    t.close();
  });

  it('unpublishing the microphone silences it; links made afterwards receive only (as a listen-only join)', async () => {
    FakePC.all = [];
    const t = new P2PTransport(ctx());
    t.voiceState(vs('2'));
    await t.unpublish('mic');
    expect(FakePC.all[0].sender(0).track).toBeNull();
    expect(FakePC.all[0].removed).toEqual([]);
    t.voiceState(vs('3'));
    expect(FakePC.all[1].added.map((a) => [a.how, a.direction])).toEqual([['addTransceiver', 'recvonly']]);
    t.close();
  });
});

describe('PeerLink playback', () => {
  it('a second remote stream plays in its own element and never replaces the microphone', () => {
    FakePC.all = [];
    const t = new P2PTransport(ctx());
    t.voiceState(vs('2'));
    const pc = FakePC.all[0];
    const link = t.link('2')!;
    const mic = new MediaStream();
    const tab = new MediaStream();
    pc.ontrack?.({ streams: [mic], track: track('r-mic'), transceiver: { mid: '0' } });
    expect(link.audio.srcObject).toBe(mic);
    pc.ontrack?.({ streams: [tab], track: track('r-tab'), transceiver: { mid: '1' } });
    expect(link.audio.srcObject).toBe(mic);
    pc.ontrack?.({ streams: [mic], track: track('r-mic'), transceiver: { mid: '0' } }); // renegotiated: same element
    expect(link.audio.srcObject).toBe(mic);
    t.setPlayback({ '2': 50 }, false, '');
    expect(link.audio.volume).toBe(0.5);
    t.close();
    expect(link.audio.srcObject).toBeNull();
  });
});

describe('SfuTransport.publish', () => {
  const sfuCtx = (over: Partial<TransportContext> = {}) => ctx({ join: { mode: 'sfu', channel_id: '10', guild_id: '1', participants: [], ice_servers: [], voice_token: 't' }, ...over });

  it('swaps the microphone in place; another source adds a send-only section published with a new offer', async () => {
    FakePC.all = [];
    const t = new SfuTransport(sfuCtx());
    const pc = FakePC.all[0];
    expect(pc.added.map((a) => [a.direction, a.sender.track?.id])).toEqual([['sendonly', 'mic1']]);
    t.signaling.handle({ op: 'ready', d: { user_id: '1', participants: [] } });
    await t.signaling.settled();
    expect(t.signaling.counts.offersSent).toBe(1);

    await t.publish('mic', track('mic2'));
    await t.signaling.settled();
    expect(pc.added).toHaveLength(1);
    expect(pc.sender(0).track?.id).toBe('mic2');
    expect(t.signaling.counts.offersSent).toBe(1);

    await t.publish('screen_audio', track('tab1'));
    expect(pc.added.map((a) => [a.direction, a.sender.track?.id])).toEqual([
      ['sendonly', 'mic2'],
      ['sendonly', 'tab1'],
    ]);
    // Our first offer is still unanswered: the new one waits for its answer.
    await t.signaling.settled();
    expect(t.signaling.counts.offersSent).toBe(1);
    t.signaling.handle({ op: 'answer', d: { sdp: 'answer 1' } });
    await t.signaling.settled();
    expect(t.signaling.counts.offersSent).toBe(2);
    t.signaling.handle({ op: 'answer', d: { sdp: 'answer 2' } });

    await t.unpublish('screen_audio');
    await t.signaling.settled();
    expect(pc.removed).toEqual([pc.sender(1)]);
    expect(t.signaling.counts.offersSent).toBe(3);
    t.close();
  });

  it('a listen-only join stays listen-only (as before: the microphone is not added later)', async () => {
    FakePC.all = [];
    const t = new SfuTransport(sfuCtx({ localTrack: null, localStream: null }));
    const pc = FakePC.all[0];
    await t.publish('mic', track('mic1'));
    expect(pc.added.map((a) => [a.direction, a.sender.track])).toEqual([['recvonly', null]]);
    t.close();
  });
});
