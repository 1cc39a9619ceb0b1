import { describe, expect, it } from 'vitest';
import { StreamSignaling } from './streamSignaling';
import { FakePC } from './testing/fakePc';

function setup() {
  const pc = new FakePC();
  const sent: { op: string; d: any }[] = [];
  const errors: string[] = [];
  let changes = 0;
  const sig = new StreamSignaling(pc, {
    token: 'tok',
    channelId: '42',
    send: (op, d) => sent.push({ op, d }),
    onChange: () => changes++,
    onError: (code) => errors.push(code),
  });
  return { pc, sig, sent, errors, changes: () => changes };
}

const ops = (sent: { op: string }[]) => sent.map((s) => s.op);
const screenOffer = (mids: [string, string][]) => mids.map(([mid, dir]) => `m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:${mid}\r\na=${dir}`).join('\r\n');

describe('StreamSignaling', () => {
  it('identifies as a stream connection with the voice token, then offers', async () => {
    const { sig, sent } = setup();
    sig.open();
    expect(sent[0]).toEqual({ op: 'identify', d: { token: 'tok', channel_id: '42', kind: 'stream' } });
    sig.handle({ op: 'ready', d: { user_id: '1', channel_id: '42', participants: [] } });
    await sig.settled();
    expect(ops(sent)).toEqual(['identify', 'offer']);
    expect(sig.state).toBe('negotiating');
    sig.handle({ op: 'answer', d: { sdp: 'a' } });
    await sig.settled();
    expect(sig.state).toBe('connected');
  });

  it('watch waits for our first answer (the SFU needs our recvonly video section), then goes once', async () => {
    const { sig, sent } = setup();
    sig.watch('7');
    sig.handle({ op: 'ready', d: {} });
    await sig.settled();
    expect(ops(sent)).toEqual(['offer']);
    sig.handle({ op: 'answer', d: { sdp: 'a' } });
    await sig.settled();
    expect(sent.at(-1)).toEqual({ op: 'watch', d: { user_id: '7' } });
    sig.watch('7'); // already asked
    sig.watch('8');
    expect(ops(sent)).toEqual(['offer', 'watch', 'watch']);
    expect([...sig.watching]).toEqual(['7', '8']);
    sig.unwatch('7');
    sig.unwatch('9'); // never asked: nothing to send
    expect(sent.at(-1)).toEqual({ op: 'unwatch', d: { user_id: '7' } });
    expect(sig.counts).toMatchObject({ watches: 2, unwatches: 1 });
  });

  it('maps the server offer sections of watched streams; unwatched ones go inactive', async () => {
    const { sig, sent, pc } = setup();
    sig.handle({ op: 'ready', d: {} });
    sig.handle({ op: 'answer', d: { sdp: 'a' } });
    const streams = [
      { mid: 's0', ssrc: 1, user_id: '7', kind: 'video', source: 'screen' },
      { mid: 's1', ssrc: 2, user_id: '7', kind: 'audio', source: 'screen' },
    ];
    sig.handle({ op: 'offer', d: { sdp: screenOffer([['s0', 'sendonly'], ['s1', 'sendonly']]), version: 3, streams } });
    await sig.settled();
    expect(sent.at(-1)).toEqual({ op: 'answer', d: { sdp: pc.localDescription?.sdp, version: 3 } });
    expect([...sig.sections.values()].map((s) => [s.mid, s.userId, s.kind, s.active])).toEqual([
      ['s0', '7', 'video', true],
      ['s1', '7', 'audio', true],
    ]);
    sig.handle({ op: 'offer', d: { sdp: screenOffer([['s0', 'inactive'], ['s1', 'inactive']]), version: 4, streams } });
    await sig.settled();
    expect([...sig.sections.values()].every((s) => !s.active)).toBe(true);
  });

  it('a share started mid-way offers again, and a crossing server offer wins', async () => {
    const { sig, sent, pc } = setup();
    sig.handle({ op: 'ready', d: {} });
    sig.handle({ op: 'answer', d: { sdp: 'a1' } });
    await sig.settled();
    sig.requestOffer();
    await sig.settled();
    expect(pc.signalingState).toBe('have-local-offer');
    sig.handle({ op: 'offer', d: { sdp: 'o', version: 1, streams: [] } });
    sig.handle({ op: 'answer', d: { sdp: 'stale' } });
    await sig.settled();
    expect(ops(sent.slice(-2))).toEqual(['answer', 'offer']);
    sig.handle({ op: 'answer', d: { sdp: 'a2' } });
    await sig.settled();
    expect(pc.signalingState).toBe('stable');
    expect(sig.counts).toMatchObject({ staleAnswers: 1, errors: 0, offersSent: 3 });
  });

  it('streams events and errors', () => {
    const { sig, errors } = setup();
    expect(sig.live).toBeNull();
    sig.handle({ op: 'streams', d: { streams: [{ user_id: '7', viewer_ids: ['1'] }] } });
    expect(sig.live).toEqual([{ userId: '7', viewerIds: ['1'] }]);
    sig.handle({ op: 'error', d: { code: 'stream_denied' } });
    sig.handle({ op: 'error', d: { code: 'not_streaming' } });
    expect(errors).toEqual(['stream_denied', 'not_streaming']);
  });

  it('does nothing after close', async () => {
    const { sig, sent } = setup();
    sig.close();
    sig.handle({ op: 'ready', d: {} });
    sig.watch('3');
    await sig.settled();
    expect(sent).toEqual([]);
  });
});
