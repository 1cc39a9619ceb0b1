// Perfect negotiation (W3C WebRTC, "Perfect negotiation example") for one peer connection.
// Both sides may offer at any time; on a collision the impolite peer ignores the incoming
// offer and the polite one rolls its own back. Every step runs on one serial queue so an
// incoming description never interleaves with our own offer/answer. Local descriptions are
// munged (Opus DTX + FEC) before they are set, remote ones with the Opus packet length we
// send (a=ptime, P2P_AUDIO_PTIME_MS).
import { P2P_AUDIO_PTIME_MS, setAudioPtime, setOpusParams } from './sdp';

export interface SignalPayload {
  description?: { type: RTCSdpType; sdp?: string };
  candidate?: RTCIceCandidateInit | null;
  /** An offer's number (per sender); its answer names it in `answerTo`. */
  offerId?: number;
  answerTo?: number;
}

/** The subset of RTCPeerConnection the negotiation needs (a fake implements it in tests). */
export interface NegotiablePC {
  readonly signalingState: RTCSignalingState;
  readonly localDescription: { type: RTCSdpType; sdp: string } | null;
  readonly remoteDescription?: { type: RTCSdpType; sdp?: string } | null;
  createOffer(opts?: RTCOfferOptions): Promise<{ type: RTCSdpType; sdp?: string }>;
  createAnswer(): Promise<{ type: RTCSdpType; sdp?: string }>;
  setLocalDescription(d?: { type: RTCSdpType; sdp?: string }): Promise<void>;
  setRemoteDescription(d: { type: RTCSdpType; sdp?: string }): Promise<void>;
  addIceCandidate(c: RTCIceCandidateInit | null | undefined): Promise<void>;
}

/** Polite peer = the larger user id, compared as numbers (snowflakes). */
export function isPolite(myId: string, peerId: string): boolean {
  try {
    return BigInt(myId) > BigInt(peerId);
  } catch {
    return myId > peerId;
  }
}

export class Negotiator {
  makingOffer = false;
  ignoreOffer = false;
  private isSettingRemoteAnswerPending = false;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** Counters for diagnostics and tests. */
  readonly counts = {
    offersSent: 0,
    answersSent: 0,
    offersIgnored: 0,
    rollbacks: 0,
    errors: 0,
    retries: 0,
    stalls: 0,
    staleAnswers: 0,
    candidatesSent: 0,
    candidatesReceived: 0,
    candidatesRejected: 0,
  };
  /** When a description was last applied (or the negotiator was created). */
  private lastProgressAt = Date.now();

  constructor(
    private readonly pc: NegotiablePC,
    readonly polite: boolean,
    private readonly send: (p: SignalPayload) => void,
    private readonly munge: (sdp: string) => string = (s) => setOpusParams(s),
    private readonly onError: (e: unknown) => void = () => {},
    private readonly mungeRemote: (sdp: string) => string = (s) => setAudioPtime(s, P2P_AUDIO_PTIME_MS),
  ) {}

  close() {
    this.closed = true;
  }

  /** Hook for pc.onnegotiationneeded. */
  negotiationNeeded(): Promise<void> {
    return this.enqueue(async () => {
      if (this.pc.signalingState !== 'stable') return; // fires again when back to stable
      this.makingOffer = true;
      try {
        const offer = await this.pc.createOffer();
        if (this.closed || this.pc.signalingState !== 'stable') return;
        await this.pc.setLocalDescription({ type: 'offer', sdp: this.munge(offer.sdp ?? '') });
        this.counts.offersSent++;
        this.offerSentAt = this.lastProgressAt = Date.now();
        this.outstandingOffer = ++this.offerSeq;
        this.send({ description: this.pc.localDescription ?? undefined, offerId: this.outstandingOffer });
      } finally {
        this.makingOffer = false;
      }
    });
  }

  private offerSentAt = 0;
  private offerSeq = 0;
  /** The number of the offer we wait an answer for (0: none). */
  private outstandingOffer = 0;

  /**
   * Our offer got no answer (the peer never saw it, e.g. it was not yet in the channel):
   * roll back and offer again. Called periodically by the owner.
   */
  retryIfStuck(now: number, afterMs = 8000): Promise<void> | undefined {
    if (this.pc.signalingState !== 'have-local-offer' || !this.offerSentAt || now - this.offerSentAt < afterMs) return;
    this.offerSentAt = 0;
    return this.enqueue(async () => {
      if (this.pc.signalingState !== 'have-local-offer') return;
      this.counts.retries++;
      await this.pc.setLocalDescription({ type: 'rollback' });
      this.outstandingOffer = 0;
    }).then(() => this.negotiationNeeded());
  }

  /**
   * A pair that is signaling-stable but whose connection never left "new" for `afterMs`
   * is stalled: nobody's offer got through (one was dropped before the peer had a
   * connection for us, or the relay refused it), or the candidates were lost. Returns true
   * (at most once per `afterMs`) when the owner should start over with an ICE restart offer,
   * which gathers and sends fresh candidates. Either side may do it: glare is handled.
   */
  stalled(now: number, connectionState: string, afterMs = 10_000): boolean {
    if (this.closed || connectionState !== 'new' || this.pc.signalingState !== 'stable') return false;
    if (now - this.lastProgressAt < afterMs) return false;
    this.lastProgressAt = now;
    this.counts.stalls++;
    return true;
  }

  /** Hook for pc.onicecandidate. */
  localCandidate(candidate: RTCIceCandidateInit | null) {
    if (!candidate || !candidate.candidate) return; // end-of-candidates is implied
    this.counts.candidatesSent++;
    this.send({ candidate });
  }

  /** An incoming signal from the peer. */
  receive(p: SignalPayload): Promise<void> {
    return this.enqueue(async () => {
      if (p.description) {
        const description = p.description;
        const readyForOffer = !this.makingOffer && (this.pc.signalingState === 'stable' || this.isSettingRemoteAnswerPending);
        const offerCollision = description.type === 'offer' && !readyForOffer;
        this.ignoreOffer = !this.polite && offerCollision;
        if (this.ignoreOffer) {
          this.counts.offersIgnored++;
          return;
        }
        if (offerCollision) this.counts.rollbacks++;
        this.isSettingRemoteAnswerPending = description.type === 'answer';
        try {
          // An answer must answer the offer we have out: one to an offer we rolled back (a
          // retry, or glare) would pair our new offer with ICE credentials the peer replaced.
          const stale = p.answerTo !== undefined && p.answerTo !== this.outstandingOffer;
          if (description.type === 'answer' && (this.pc.signalingState !== 'have-local-offer' || stale)) {
            this.counts.staleAnswers++;
            return;
          }
          // implicit rollback when polite
          await this.pc.setRemoteDescription(description.sdp ? { type: description.type, sdp: this.mungeRemote(description.sdp) } : description);
          this.lastProgressAt = Date.now();
          this.outstandingOffer = 0; // answered, or rolled back for the peer's offer
        } finally {
          this.isSettingRemoteAnswerPending = false;
        }
        if (description.type === 'offer') {
          const answer = await this.pc.createAnswer();
          if (this.closed) return;
          await this.pc.setLocalDescription({ type: 'answer', sdp: this.munge(answer.sdp ?? '') });
          this.counts.answersSent++;
          this.send({ description: this.pc.localDescription ?? undefined, answerTo: p.offerId });
        }
      } else if (p.candidate !== undefined) {
        this.counts.candidatesReceived++;
        try {
          await this.pc.addIceCandidate(p.candidate ?? undefined);
        } catch (e) {
          this.counts.candidatesRejected++;
          if (!this.ignoreOffer) throw e;
        }
      }
    });
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await fn();
      } catch (e) {
        this.counts.errors++;
        this.onError(e);
      }
    });
    this.queue = run;
    return run;
  }
}
