import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamConnection } from './streamConnection';
import { parseLayerFlags, preset, sendParameters } from './streamPresets';
import { StreamSignaling } from './streamSignaling';
import { FakePC, tick } from './testing/fakePc';

// The SFU's `layers` op (docs/protocol.md): simulcast layers nobody watches are paused at the
// publisher with the encodings' `active` flags, kept across preset changes.

describe('layer flags', () => {
  it('parses rid -> boolean, refuses anything else, never pauses the lowest layer', () => {
    expect(parseLayerFlags({ q: true, h: false, f: false })).toEqual({ q: true, h: false, f: false });
    expect(parseLayerFlags({ q: false, h: true })).toEqual({ q: true, h: true });
    expect(parseLayerFlags({ q: 'yes' })).toBeNull();
    expect(parseLayerFlags(null)).toBeNull();
    expect(parseLayerFlags([true])).toBeNull();
  });

  it('sendParameters applies the flags by rid, a rid not named runs, and keeps the rest', () => {
    const current = {
      transactionId: 't',
      encodings: [{ rid: 'q', active: true }, { rid: 'h', active: false }, { rid: 'f', active: false }],
    } as unknown as RTCRtpSendParameters;
    const p = sendParameters(current, preset('1080p30'), 'game', { q: true, f: false });
    expect(p.transactionId).toBe('t');
    expect(p.encodings.map((e) => [e.rid, e.active, e.maxBitrate])).toEqual([
      ['q', true, 500_000],
      ['h', true, 2_500_000],
      ['f', false, 6_000_000],
    ]);
    // Without flags the sender's own are kept (as before).
    expect(sendParameters(current, preset('1080p30'), 'game').encodings.map((e) => e.active)).toEqual([true, false, false]);
  });
});

describe('StreamSignaling layers op', () => {
  it('hands well-formed layers ops to onLayers and drops malformed ones', () => {
    const got: [string, Record<string, boolean>][] = [];
    const sig = new StreamSignaling(new FakePC(), {
      token: 't',
      channelId: '1',
      send: () => {},
      onChange: () => {},
      onError: () => {},
      onLayers: (mid, active) => got.push([mid, active]),
    });
    sig.handle({ op: 'layers', d: { mid: '2', active: { q: true, h: false, f: false } } });
    sig.handle({ op: 'layers', d: { mid: 2, active: { q: true } } });
    sig.handle({ op: 'layers', d: { mid: '2', active: 'x' } });
    expect(got).toEqual([['2', { q: true, h: false, f: false }]]);
    expect(sig.counts.layerUpdates).toBe(1);
  });
});

// A sender that checks what Chromium checks: every setParameters carries the transactionId
// of the latest getParameters (so concurrent calls must be serialized).
class FakeSender {
  track: unknown = null;
  private n = 0;
  private issued = '';
  params: RTCRtpSendParameters = {
    transactionId: '',
    encodings: [{ rid: 'q', active: true }, { rid: 'h', active: true }, { rid: 'f', active: true }],
  } as unknown as RTCRtpSendParameters;
  sets = 0;
  getParameters(): RTCRtpSendParameters {
    this.issued = `tx${++this.n}`;
    return structuredClone({ ...this.params, transactionId: this.issued });
  }
  async setParameters(p: RTCRtpSendParameters) {
    if (p.transactionId !== this.issued) throw new Error('stale transactionId');
    this.issued = '';
    await tick();
    this.params = structuredClone(p);
    this.sets++;
  }
  async replaceTrack(t: unknown) {
    this.track = t;
  }
  setStreams() {}
}

class SharePC extends FakePC {
  transceivers: { mid: string | null; direction: string; sender: FakeSender; kind: string }[] = [];
  ontrack: unknown = null;
  onconnectionstatechange: unknown = null;
  addTransceiver(trackOrKind: unknown, init: { direction: string }) {
    const t = { mid: String(this.transceivers.length), direction: init.direction, sender: new FakeSender(), kind: typeof trackOrKind === 'string' ? trackOrKind : 'video' };
    this.transceivers.push(t);
    return t;
  }
  close() {}
}

describe('StreamConnection layers', () => {
  const g = globalThis as Record<string, unknown>;
  let saved: unknown;
  beforeEach(() => {
    saved = g.MediaStream;
    g.MediaStream = class {
      constructor(readonly tracks: unknown[] = []) {}
      getTracks() {
        return this.tracks;
      }
    };
  });
  afterEach(() => {
    g.MediaStream = saved;
  });

  function setup() {
    const pc = new SharePC();
    const conn = new StreamConnection({
      url: 'ws://x',
      token: 't',
      channelId: '1',
      onChange: () => {},
      onError: () => {},
      onClosed: () => {},
      log: () => {},
      createPC: () => pc as unknown as RTCPeerConnection,
      createSocket: () => ({ readyState: 0, send: vi.fn(), close: vi.fn() }) as unknown as WebSocket,
    });
    return { pc, conn };
  }
  const track = { kind: 'video', contentHint: '' } as unknown as MediaStreamTrack;
  const flags = (s: FakeSender) => s.params.encodings.map((e) => `${e.rid}${e.active ? '+' : '-'}`).join('');

  it('pauses and resumes layers by rid for our video section only, and a preset change keeps them', async () => {
    const { pc, conn } = setup();
    await conn.share(track, null, preset('1080p30'), 'game');
    const video = pc.transceivers[2]; // after the recvonly video and audio sections
    expect(flags(video.sender)).toBe('q+h+f+');
    conn.signaling.handle({ op: 'layers', d: { mid: video.mid, active: { q: true, h: false, f: false } } });
    await conn.setLayers('other', { q: true, h: true, f: true }); // not our section: ignored
    await tick();
    await tick();
    expect(flags(video.sender)).toBe('q+h-f-');
    // A preset change (applyLimits) keeps the SFU's flags.
    await conn.configure(preset('1080p60'), 'text');
    expect(flags(video.sender)).toBe('q+h-f-');
    expect(video.sender.params.encodings[2].maxFramerate).toBe(60);
    await conn.setLayers(video.mid!, { q: true, h: true, f: true });
    expect(flags(video.sender)).toBe('q+h+f+');
  });

  it('serializes setParameters (no stale transaction) and the last op wins', async () => {
    const { pc, conn } = setup();
    await conn.share(track, null, preset('1080p30'), 'game');
    const video = pc.transceivers[2];
    const before = video.sender.sets;
    await Promise.all([
      conn.setLayers(video.mid!, { q: true, h: false, f: false }),
      conn.configure(preset('720p30'), 'game'),
      conn.setLayers(video.mid!, { q: true, h: true, f: false }),
    ]);
    expect(video.sender.sets - before).toBe(3);
    expect(flags(video.sender)).toBe('q+h+f-');
  });

  it('a new share on the reused sender runs every layer again until the SFU says otherwise', async () => {
    const { pc, conn } = setup();
    await conn.share(track, null, preset('1080p30'), 'game');
    const video = pc.transceivers[2];
    await conn.setLayers(video.mid!, { q: true, h: false, f: false });
    expect(flags(video.sender)).toBe('q+h-f-');
    await conn.stopShare();
    await conn.share(track, null, preset('1080p30'), 'game');
    expect(pc.transceivers.length).toBe(3); // the spare was reused
    expect(flags(video.sender)).toBe('q+h+f+');
    expect(conn.layers).toEqual({});
  });
});
