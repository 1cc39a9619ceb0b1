import { describe, expect, it } from 'vitest';
import { Negotiator, isPolite, type NegotiablePC, type SignalPayload } from './negotiation';
import { opusParams } from './sdp';

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A signaling-state model of RTCPeerConnection (JSEP rules incl. implicit rollback). */
class FakePC implements NegotiablePC {
  signalingState: RTCSignalingState = 'stable';
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  remoteDescription: { type: RTCSdpType; sdp?: string } | null = null;
  candidates: RTCIceCandidateInit[] = [];
  private n = 0;
  constructor(readonly name: string) {}
  async createOffer() {
    await tick();
    return { type: 'offer' as const, sdp: `v=0 ${this.name}#${++this.n}\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n` };
  }
  async createAnswer() {
    if (this.signalingState !== 'have-remote-offer') throw new Error('createAnswer in ' + this.signalingState);
    await tick();
    return { type: 'answer' as const, sdp: `v=0 answer ${this.name}\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10\r\n` };
  }
  async setLocalDescription(d?: { type: RTCSdpType; sdp?: string }) {
    await tick();
    if (!d) throw new Error('implicit SLD not modelled');
    if (d.type === 'offer') {
      if (this.signalingState !== 'stable') throw new Error('SLD(offer) in ' + this.signalingState);
      this.signalingState = 'have-local-offer';
    } else if (d.type === 'answer') {
      if (this.signalingState !== 'have-remote-offer') throw new Error('SLD(answer) in ' + this.signalingState);
      this.signalingState = 'stable';
    }
    this.localDescription = { type: d.type, sdp: d.sdp ?? '' };
  }
  async setRemoteDescription(d: { type: RTCSdpType; sdp?: string }) {
    await tick();
    if (d.type === 'offer') {
      if (this.signalingState === 'have-local-offer') this.signalingState = 'stable'; // implicit rollback
      if (this.signalingState !== 'stable') throw new Error('SRD(offer) in ' + this.signalingState);
      this.signalingState = 'have-remote-offer';
    } else if (d.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') throw new Error('SRD(answer) in ' + this.signalingState);
      this.signalingState = 'stable';
    }
    this.remoteDescription = d;
  }
  async addIceCandidate(c: RTCIceCandidateInit | null | undefined) {
    if (!this.remoteDescription) throw new Error('no remote description');
    if (c) this.candidates.push(c);
  }
}

function pair(opts: { latency?: number } = {}) {
  const pcA = new FakePC('A');
  const pcB = new FakePC('B');
  const errors: unknown[] = [];
  let a!: Negotiator;
  let b!: Negotiator;
  const deliver = (to: () => Negotiator) => (p: SignalPayload) => {
    setTimeout(() => void to().receive(JSON.parse(JSON.stringify(p))), opts.latency ?? 1);
  };
  // user ids: A = 100 (impolite), B = 2000 (polite: larger id)
  a = new Negotiator(pcA, isPolite('100', '2000'), deliver(() => b), undefined, (e) => errors.push(e));
  b = new Negotiator(pcB, isPolite('2000', '100'), deliver(() => a), undefined, (e) => errors.push(e));
  return { pcA, pcB, a, b, errors };
}

async function settle(ms = 80) {
  await new Promise((r) => setTimeout(r, ms));
}

describe('isPolite', () => {
  it('compares user ids as numbers, not strings', () => {
    expect(isPolite('1000', '999')).toBe(true); // as text "1000" < "999"
    expect(isPolite('999', '1000')).toBe(false);
    expect(isPolite('7255019483201822720', '7255019483201822719')).toBe(true); // beyond 2^53
  });
});

describe('perfect negotiation', () => {
  it('one side offers: the other answers, both stable', async () => {
    const { pcA, pcB, a, b, errors } = pair();
    await a.negotiationNeeded();
    await settle();
    expect(pcA.signalingState).toBe('stable');
    expect(pcB.signalingState).toBe('stable');
    expect(a.counts.offersSent).toBe(1);
    expect(b.counts.answersSent).toBe(1);
    expect(errors).toEqual([]);
  });

  it('glare: both offer at once; the impolite side ignores, the polite side rolls back', async () => {
    const { pcA, pcB, a, b, errors } = pair({ latency: 5 });
    await Promise.all([a.negotiationNeeded(), b.negotiationNeeded()]);
    await settle(100);
    expect(errors).toEqual([]);
    expect(pcA.signalingState).toBe('stable');
    expect(pcB.signalingState).toBe('stable');
    expect(a.counts.offersIgnored).toBe(1); // A (impolite) ignored B's offer
    expect(b.counts.rollbacks).toBe(1); // B (polite) rolled back and answered A
    expect(b.counts.answersSent).toBe(1);
    expect(pcA.remoteDescription?.type).toBe('answer');
    expect(pcB.remoteDescription?.sdp).toContain('A#1');
  });

  it('candidates of an ignored offer are dropped without errors', async () => {
    const { a, errors } = pair({ latency: 5 });
    await a.negotiationNeeded();
    // A is in have-local-offer; an offer from B collides and A (impolite) ignores it.
    await a.receive({ description: { type: 'offer', sdp: 'x' } });
    await a.receive({ candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' } });
    expect(errors).toEqual([]);
    expect(a.ignoreOffer).toBe(true);
  });

  it('stale answers in stable state are ignored', async () => {
    const { a, pcA, errors } = pair();
    await a.receive({ description: { type: 'answer', sdp: 'late' } });
    expect(pcA.signalingState).toBe('stable');
    expect(errors).toEqual([]);
  });

  it('renegotiation (e.g. ICE restart) after a call is up works from either side', async () => {
    const { pcA, pcB, a, b, errors } = pair();
    await a.negotiationNeeded();
    await settle();
    await b.negotiationNeeded();
    await settle();
    expect(pcA.signalingState).toBe('stable');
    expect(pcB.signalingState).toBe('stable');
    expect(a.counts.answersSent).toBe(1);
    expect(errors).toEqual([]);
  });

  it('munges Opus DTX and FEC into local offers and answers', async () => {
    const { pcA, pcB, a } = pair();
    await a.negotiationNeeded();
    await settle();
    expect(opusParams(pcA.localDescription!.sdp)).toMatchObject({ usedtx: '1', useinbandfec: '1', minptime: '10' });
    expect(opusParams(pcB.localDescription!.sdp)).toMatchObject({ usedtx: '1', useinbandfec: '1' });
  });

  it('asks its own browser for 10 ms Opus packets through the remote descriptions, not the local ones', async () => {
    const { pcA, pcB, a } = pair();
    const withAudio = (pc: FakePC) => {
      const offer = pc.createOffer.bind(pc);
      const answer = pc.createAnswer.bind(pc);
      const audio = (sdp?: string) => (sdp ?? '').replace('\r\na=rtpmap:111', '\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111');
      pc.createOffer = async () => {
        const o = await offer();
        return { ...o, sdp: audio(o.sdp) };
      };
      pc.createAnswer = async () => {
        const o = await answer();
        return { ...o, sdp: audio(o.sdp) };
      };
    };
    withAudio(pcA);
    withAudio(pcB);
    await a.negotiationNeeded();
    await settle();
    expect(pcB.remoteDescription?.type).toBe('offer');
    expect(pcB.remoteDescription?.sdp).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ptime:10\r\n');
    expect(pcA.remoteDescription?.type).toBe('answer');
    expect(pcA.remoteDescription?.sdp).toContain('a=ptime:10');
    expect(pcA.localDescription!.sdp).not.toContain('a=ptime');
    expect(pcB.localDescription!.sdp).not.toContain('a=ptime');
  });
});

describe('stuck offers', () => {
  it('an offer that was lost is rolled back and sent again', async () => {
    const pc = new FakePC('A');
    const sent: SignalPayload[] = [];
    const origSLD = pc.setLocalDescription.bind(pc);
    pc.setLocalDescription = async (d) => {
      if (d?.type === 'rollback') {
        pc.signalingState = 'stable';
        return;
      }
      return origSLD(d);
    };
    const n = new Negotiator(pc, false, (p) => sent.push(p));
    await n.negotiationNeeded();
    expect(sent).toHaveLength(1);
    expect(n.retryIfStuck(Date.now())).toBeUndefined(); // too early
    await n.retryIfStuck(Date.now() + 9000);
    expect(n.counts.retries).toBe(1);
    expect(sent).toHaveLength(2);
    expect(pc.signalingState).toBe('have-local-offer');
  });
});

describe('answers are matched to offers', () => {
  it('an answer to an offer we rolled back (a retry) is dropped; the answer to the one we have out is applied', async () => {
    const pcA = new FakePC('A');
    const origSLD = pcA.setLocalDescription.bind(pcA);
    pcA.setLocalDescription = async (d) => {
      if (d?.type === 'rollback') {
        pcA.signalingState = 'stable';
        return;
      }
      return origSLD(d);
    };
    const pcB = new FakePC('B');
    // B's answer names the offer it answers (in the SDP too, to see which one A applied).
    pcB.createAnswer = async () => ({ type: 'answer' as const, sdp: `v=0 answer to ${pcB.remoteDescription?.sdp?.split('\r\n')[0]}\r\n` });
    const toB: SignalPayload[] = [];
    const toA: SignalPayload[] = [];
    const a = new Negotiator(pcA, false, (p) => toB.push(JSON.parse(JSON.stringify(p))));
    const b = new Negotiator(pcB, true, (p) => toA.push(JSON.parse(JSON.stringify(p))));
    await a.negotiationNeeded(); // offer #1: delayed on the way
    await a.retryIfStuck(Date.now() + 9000); // rolled back, offer #2 sent
    expect(toB.map((p) => p.offerId)).toEqual([1, 2]);
    await b.receive(toB[0]); // B answers #1 late...
    await b.receive(toB[1]); // ...and then #2 (a renegotiation, for B)
    expect(toA.map((p) => p.answerTo)).toEqual([1, 2]);
    await a.receive(toA[0]);
    expect(a.counts.staleAnswers).toBe(1);
    expect(pcA.signalingState).toBe('have-local-offer');
    await a.receive(toA[1]);
    expect(pcA.signalingState).toBe('stable');
    expect(pcA.remoteDescription?.sdp).toContain('A#2');
  });

  it('answers without a number (an older client) are still taken', async () => {
    const { pcA, a } = pair({ latency: 10_000 });
    await a.negotiationNeeded();
    await a.receive({ description: { type: 'answer', sdp: 'v=0 answer\r\n' } });
    expect(pcA.signalingState).toBe('stable');
  });
});

describe('stalled pairs', () => {
  it('a pair where nobody offered is reported stalled once per interval, and an offer then connects it', async () => {
    const { pcA, pcB, a, b, errors } = pair();
    const t0 = Date.now();
    expect(a.stalled(t0 + 1000, 'new')).toBe(false); // too early
    expect(a.stalled(t0 + 11_000, 'connecting')).toBe(false); // ICE is working
    expect(a.stalled(t0 + 11_000, 'new')).toBe(true);
    expect(a.stalled(t0 + 12_000, 'new')).toBe(false); // not again within the interval
    expect(a.counts.stalls).toBe(1);
    await a.negotiationNeeded();
    await settle();
    expect(pcA.signalingState).toBe('stable');
    expect(pcB.remoteDescription?.type).toBe('offer');
    expect(b.counts.answersSent).toBe(1);
    expect(errors).toEqual([]);
  });

  it('is not stalled while an offer is out (that is retryIfStuck\'s case)', async () => {
    const { a } = pair({ latency: 10_000 });
    await a.negotiationNeeded();
    expect(a.stalled(Date.now() + 60_000, 'new')).toBe(false);
  });
});
