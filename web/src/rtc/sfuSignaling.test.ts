import { describe, expect, it } from 'vitest';
import { SfuSignaling } from './sfuSignaling';
import { FakePC } from './testing/fakePc';

function setup(extra: { traceparent?: string } = {}) {
  const pc = new FakePC();
  const sent: { op: string; d: any }[] = [];
  const speaking: [string, boolean][] = [];
  let changes = 0;
  let disconnects = 0;
  const updates: unknown[] = [];
  const sig = new SfuSignaling(pc, {
    token: 'tok',
    channelId: '42',
    send: (op, d) => sent.push({ op, d }),
    onChange: () => changes++,
    onSpeaking: (u, s) => speaking.push([u, s]),
    onDisconnected: () => disconnects++,
    onServerUpdate: (d) => updates.push(d),
    ...extra,
  });
  return { pc, sig, sent, speaking, updates, changes: () => changes, disconnects: () => disconnects };
}

const ops = (sent: { op: string }[]) => sent.map((s) => s.op);

describe('SfuSignaling', () => {
  it("passes the join answer's traceparent in identify, so the SFU's spans join the trace", () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { sig, sent } = setup({ traceparent: tp });
    sig.open();
    expect(sent[0]).toEqual({ op: 'identify', d: { token: 'tok', channel_id: '42', traceparent: tp } });
  });

  it('identifies, publishes with its own offer and applies the answer', async () => {
    const { pc, sig, sent } = setup();
    sig.open();
    expect(sent[0]).toEqual({ op: 'identify', d: { token: 'tok', channel_id: '42' } });
    sig.handle({ op: 'ready', d: { user_id: '1', channel_id: '42', participants: ['2', '3'] } });
    await sig.settled();
    expect(ops(sent)).toEqual(['identify', 'offer']);
    expect(sent[1].d.sdp).toBe('offer#1');
    expect(sig.state).toBe('publishing');
    expect([...sig.participants]).toEqual(['2', '3']);
    sig.handle({ op: 'answer', d: { sdp: 'server answer' } });
    await sig.settled();
    expect(pc.signalingState).toBe('stable');
    expect(pc.remoteDescription?.sdp).toBe('server answer');
    expect(sig.state).toBe('connected');
  });

  it('answers server offers and maps mids to users (inactive sections drop out)', async () => {
    const { pc, sig, sent } = setup();
    sig.handle({ op: 'ready', d: { user_id: '1', participants: [] } });
    sig.handle({ op: 'answer', d: { sdp: 'a' } });
    sig.handle({
      op: 'offer',
      d: {
        sdp: 'o1',
        version: 1,
        streams: [
          { mid: 's0', ssrc: 11, user_id: '2', kind: 'audio' },
          { mid: 's1', ssrc: 12, user_id: '3', kind: 'audio' },
        ],
      },
    });
    await sig.settled();
    expect(pc.remoteDescription?.sdp).toBe('o1');
    expect(sent.at(-1)).toEqual({ op: 'answer', d: { sdp: pc.localDescription?.sdp, version: 1 } });
    expect(Object.fromEntries(sig.midToUser)).toEqual({ s0: '2', s1: '3' });
    sig.handle({ op: 'offer', d: { sdp: 'o2', version: 2, streams: [{ mid: 's1', ssrc: 12, user_id: '3', kind: 'audio' }] } });
    await sig.settled();
    expect(Object.fromEntries(sig.midToUser)).toEqual({ s1: '3' });
    expect(sig.counts).toMatchObject({ offersSent: 1, answersSent: 2, serverOffers: 2, errors: 0 });
  });

  it('last-N slots: `slots` events map each slot to its current speaker, kept across server offers', async () => {
    const { sig } = setup();
    sig.handle({ op: 'ready', d: { user_id: '1', participants: ['2', '3', '4', '5'] } });
    sig.handle({ op: 'answer', d: { sdp: 'a' } });
    const streams = [
      { mid: '1', ssrc: 21, kind: 'audio', slot: 0 },
      { mid: '2', ssrc: 22, kind: 'audio', slot: 1 },
    ];
    sig.handle({ op: 'offer', d: { sdp: 'o1', version: 1, streams } });
    await sig.settled();
    expect([...sig.slotMids]).toEqual(['1', '2']);
    expect(sig.midToUser.size).toBe(0); // nobody speaks yet
    sig.handle({ op: 'slots', d: { slots: [{ mid: '1', user_id: '4' }, { mid: '2', user_id: null }] } });
    expect(Object.fromEntries(sig.midToUser)).toEqual({ '1': '4' });
    sig.handle({ op: 'slots', d: { slots: [{ mid: '1', user_id: '4' }, { mid: '2', user_id: '5' }] } });
    expect(Object.fromEntries(sig.midToUser)).toEqual({ '1': '4', '2': '5' });
    // A later server offer (a third slot) keeps the speakers of the existing slots.
    sig.handle({ op: 'offer', d: { sdp: 'o2', version: 2, streams: [...streams, { mid: '3', ssrc: 23, kind: 'audio', slot: 2 }] } });
    await sig.settled();
    expect(Object.fromEntries(sig.midToUser)).toEqual({ '1': '4', '2': '5' });
    expect(sig.slotMids.size).toBe(3);
    sig.handle({ op: 'slots', d: { slots: [{ mid: '1', user_id: null }, { mid: 'x' }, {}] } });
    expect(Object.fromEntries(sig.midToUser)).toEqual({ '2': '5' });
    expect(sig.counts.errors).toBe(0);
  });

  it('an ICE restart sends a new offer; a crossing server offer wins and ours goes again', async () => {
    const { pc, sig, sent } = setup();
    sig.handle({ op: 'ready', d: { user_id: '1', participants: [] } });
    sig.handle({ op: 'answer', d: { sdp: 'a1' } });
    await sig.settled();
    sig.restartIce();
    await sig.settled();
    expect(pc.restarts).toBe(1);
    expect(pc.signalingState).toBe('have-local-offer');
    const abandoned = sent.at(-1)!;
    expect(abandoned.op).toBe('offer');
    // The server's offer crosses ours: we roll back, answer it, then offer again.
    sig.handle({ op: 'offer', d: { sdp: 'o1', version: 1, streams: [{ mid: 's0', ssrc: 5, user_id: '2', kind: 'audio' }] } });
    // ...and the server's answer to the abandoned offer arrives late.
    sig.handle({ op: 'answer', d: { sdp: 'stale' } });
    await sig.settled();
    expect(ops(sent.slice(-2))).toEqual(['answer', 'offer']);
    expect(pc.signalingState).toBe('have-local-offer');
    expect(sig.counts.staleAnswers).toBe(1); // the late answer belonged to the abandoned offer
    expect(pc.signalingState).toBe('have-local-offer');
    sig.handle({ op: 'answer', d: { sdp: 'a2' } });
    await sig.settled();
    expect(pc.remoteDescription?.sdp).toBe('a2');
    expect(pc.signalingState).toBe('stable');
    expect(sig.counts.errors).toBe(0);
  });

  it('a server offer while the publish offer is pending does not lose the publish', async () => {
    const { pc, sig, sent } = setup();
    sig.handle({ op: 'ready', d: { user_id: '1', participants: [] } });
    await sig.settled();
    sig.handle({ op: 'offer', d: { sdp: 'o1', version: 1, streams: [] } });
    await sig.settled();
    expect(ops(sent)).toEqual(['offer', 'answer', 'offer']);
    sig.handle({ op: 'answer', d: { sdp: 'a-abandoned' } });
    sig.handle({ op: 'answer', d: { sdp: 'a' } });
    await sig.settled();
    expect(pc.remoteDescription?.sdp).toBe('a');
    expect(pc.signalingState).toBe('stable');
  });

  it('speaking, join/leave and connection events', async () => {
    const { sig, speaking, disconnects } = setup();
    sig.handle({ op: 'ready', d: { user_id: '1', participants: ['2'] } });
    sig.handle({ op: 'participant_join', d: { user_id: '3' } });
    sig.handle({ op: 'speaking', d: { user_id: '3', speaking: true } });
    expect(sig.speaking.get('3')).toBe(true);
    sig.handle({ op: 'participant_leave', d: { user_id: '3' } });
    expect(sig.speaking.has('3')).toBe(false);
    expect(speaking).toEqual([
      ['3', true],
      ['3', false],
    ]);
    expect([...sig.participants]).toEqual(['2']);
    sig.handle({ op: 'connected', d: {} });
    expect(sig.mediaConnected).toBe(true);
    sig.handle({ op: 'disconnected', d: {} });
    expect(sig.mediaConnected).toBe(false);
    expect(disconnects()).toBe(1);
    sig.handle({ op: 'error', d: { code: 'invalid_sdp' } });
    expect(sig.counts.errors).toBe(1);
  });

  it('server_update (the node drains) is passed on with the channel and the new node, nothing sent', () => {
    const { sig, sent, updates } = setup();
    sig.open();
    sig.handle({ op: 'ready', d: { user_id: '1', channel_id: '42', participants: [] } });
    const before = sent.length;
    sig.handle({ op: 'server_update', d: { channel_id: '42', sfu: { id: 'node-2', url: 'ws://b/voice', region: 'eu' } } });
    expect(updates).toEqual([{ channel_id: '42', sfu: { id: 'node-2' } }]);
    expect(sent.length).toBe(before);
    expect(sig.state).not.toBe('closed');
  });

  it('does nothing after close', async () => {
    const { sig, sent } = setup();
    sig.close();
    sig.handle({ op: 'ready', d: { user_id: '1', participants: [] } });
    await sig.settled();
    expect(sent).toEqual([]);
  });
});
