// The offer/answer exchange with the SFU over one /voice WebSocket, shared by the voice
// connection (sfuSignaling.ts) and the stream connection (streamSignaling.ts). Our offers
// publish (and carry ICE restarts); the server's offers add subscriptions, which we answer.
// The two may cross: the server's offer wins (we are the polite side), our offer is sent
// again once the server's is answered, and the answer to the abandoned offer is dropped.
// Every step runs on one serial queue so descriptions never interleave.
import type { NegotiablePC } from './negotiation';
import { addOpusNack } from './sdp';

export interface NegotiationCounts {
  offersSent: number;
  answersSent: number;
  serverOffers: number;
  staleAnswers: number;
  errors: number;
}

export interface SfuNegotiationOptions {
  send: (op: string, d: unknown) => void;
  /** False until the server said `ready`: our offers wait until then. */
  canOffer: () => boolean;
  log?: (msg: string, e?: unknown) => void;
}

export class SfuNegotiation {
  private queue: Promise<void> = Promise.resolve();
  /** Our offer the server has not answered yet (null when none). */
  private pendingOffer: { sdp: string } | null = null;
  private wantOffer = false;
  /** Answers still to come for offers we abandoned in a glare (the server answers each offer). */
  private abandoned = 0;
  private closed = false;

  constructor(
    private readonly pc: NegotiablePC,
    private readonly o: SfuNegotiationOptions,
    /** Shared with the owner, which reports them as its own. */
    readonly counts: NegotiationCounts = { offersSent: 0, answersSent: 0, serverOffers: 0, staleAnswers: 0, errors: 0 },
  ) {}

  /** Sends our offer (now or once the current exchange is over). */
  requestOffer() {
    this.wantOffer = true;
    this.run(() => this.maybeOffer());
  }

  /** The server's answer to our offer; `applied` runs once it is set (not for a stale one). */
  answer(sdp: string, applied?: () => void) {
    this.run(async () => {
      if (this.abandoned > 0 || !this.pendingOffer || this.pc.signalingState !== 'have-local-offer') {
        if (this.abandoned > 0) this.abandoned--;
        // The answer to an offer we abandoned when the server's offer crossed it.
        this.counts.staleAnswers++;
        return;
      }
      this.pendingOffer = null;
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
      applied?.();
      await this.maybeOffer();
    });
  }

  /**
   * The server's offer: set, answered, then our own offer if one waits. `applied` runs
   * after the offer is set and before the answer goes out (mids are known by then),
   * `answered` once the answer is sent.
   */
  offer(sdp: string, version: unknown, hooks: { applied?: () => void; answered?: () => void } = {}) {
    this.run(async () => {
      this.counts.serverOffers++;
      if (this.pendingOffer) {
        // Glare: the server's offer wins; ours goes again after this exchange (new
        // credentials if it was an ICE restart: restartIce() stays armed until answered).
        this.pendingOffer = null;
        this.abandoned++;
        this.wantOffer = true;
        if (this.pc.signalingState === 'have-local-offer') await this.pc.setLocalDescription({ type: 'rollback' });
      }
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      hooks.applied?.();
      const answer = await this.pc.createAnswer();
      // Chromium leaves audio NACK out of its answers: keep what the SFU offered.
      await this.pc.setLocalDescription({ type: 'answer', sdp: addOpusNack(answer.sdp ?? '', sdp) });
      this.counts.answersSent++;
      this.o.send('answer', { sdp: this.pc.localDescription?.sdp ?? answer.sdp ?? '', version });
      hooks.answered?.();
      await this.maybeOffer();
    });
  }

  /** Runs `step` on the queue, after every exchange in progress. */
  afterExchanges(step: () => void) {
    this.run(async () => step());
  }

  /** Resolves when every queued step has run. */
  settled(): Promise<void> {
    return this.queue;
  }

  close() {
    this.closed = true;
  }

  private run(step: () => Promise<void>) {
    this.queue = this.queue
      .then(() => (this.closed ? undefined : step()))
      .catch((e) => {
        this.counts.errors++;
        this.o.log?.('sfu negotiation step failed', e);
      });
  }

  private async maybeOffer() {
    if (!this.wantOffer || this.pendingOffer || this.pc.signalingState !== 'stable' || !this.o.canOffer()) return;
    this.wantOffer = false;
    const offer = await this.pc.createOffer();
    // Audio NACK: the SFU asks again for microphone packets it lost (when it answers nack).
    await this.pc.setLocalDescription({ type: 'offer', sdp: addOpusNack(offer.sdp ?? '') });
    const sdp = this.pc.localDescription?.sdp ?? offer.sdp ?? '';
    this.pendingOffer = { sdp };
    this.counts.offersSent++;
    this.o.send('offer', { sdp });
  }
}
