// The client side of the SFU signaling protocol (docs/protocol.md, "SFU signaling (/voice)"),
// independent of the DOM so it can be unit tested with a fake peer connection:
// identify -> ready -> our offer (publish) -> the server's answer; then the server drives
// subscriptions with its own offers, which we answer. Our later offers (ICE restarts) and the
// server's offers may cross: the server's offer wins (we are the polite side), our offer is
// sent again once the server's is answered, and the answer to the abandoned offer is dropped.
// Every step runs on one serial queue so descriptions never interleave.
import type { NegotiablePC } from './negotiation';

export interface SfuStream {
  mid: string;
  ssrc: number;
  /** The publisher of a per-user stream; absent for a slot. */
  user_id?: string;
  kind: string;
  /** Last-N audio slot index: the SFU puts the loudest speakers into a few fixed slots. */
  slot?: number;
}

export interface SfuPC extends NegotiablePC {
  restartIce(): void;
}

export interface SfuSignalingOptions {
  token: string;
  channelId: string;
  send: (op: string, d: unknown) => void;
  /** Streams (mid -> user) or participants changed, or the connection state did. */
  onChange: () => void;
  /** A user's speaking state from the SFU's `speaking` events. */
  onSpeaking?: (userId: string, speaking: boolean) => void;
  /** The SFU lost ICE consent or DTLS for us: restart ICE. */
  onDisconnected?: () => void;
  log?: (msg: string, e?: unknown) => void;
}

export type SfuState = 'identifying' | 'publishing' | 'connected' | 'closed';

export class SfuSignaling {
  state: SfuState = 'identifying';
  /** Users in the channel according to the SFU (without us). */
  readonly participants = new Set<string>();
  /** Active subscription m-sections: mid -> publisher user id (a slot: its current speaker). */
  readonly midToUser = new Map<string, string>();
  /** Mids of last-N audio slots (their user changes with `slots` events). */
  readonly slotMids = new Set<string>();
  readonly speaking = new Map<string, boolean>();
  /** True between the server's `connected` and `disconnected` events. */
  mediaConnected = false;
  userId: string | null = null;
  readonly counts = { offersSent: 0, answersSent: 0, serverOffers: 0, staleAnswers: 0, restarts: 0, errors: 0 };

  private queue: Promise<void> = Promise.resolve();
  /** Our offer the server has not answered yet (null when none). */
  private pendingOffer: { sdp: string } | null = null;
  private wantOffer = false;
  /** Answers still to come for offers we abandoned in a glare (the server answers each offer). */
  private abandoned = 0;
  private closed = false;

  constructor(
    private readonly pc: SfuPC,
    private readonly o: SfuSignalingOptions,
  ) {}

  /** Call when the WebSocket opens. */
  open() {
    this.o.send('identify', { token: this.o.token, channel_id: this.o.channelId });
  }

  /** One decoded frame from the WebSocket. */
  handle(msg: { op: string; d?: any }) {
    if (this.closed) return;
    const d = msg.d ?? {};
    switch (msg.op) {
      case 'ready':
        this.userId = String(d.user_id ?? '');
        for (const u of d.participants ?? []) this.participants.add(String(u));
        this.state = 'publishing';
        this.requestOffer();
        this.o.onChange();
        return;
      case 'answer':
        this.run(() => this.onAnswer(String(d.sdp ?? '')));
        return;
      case 'offer':
        this.run(() => this.onServerOffer(String(d.sdp ?? ''), d.version, (d.streams ?? []) as SfuStream[]));
        return;
      case 'participant_join':
        this.participants.add(String(d.user_id));
        this.o.onChange();
        return;
      case 'participant_leave': {
        const uid = String(d.user_id);
        this.participants.delete(uid);
        this.speaking.delete(uid);
        this.o.onSpeaking?.(uid, false);
        this.o.onChange();
        return;
      }
      case 'slots':
        // {slots: [{mid, user_id|null}]}: who each last-N slot carries now.
        for (const sl of (d.slots ?? []) as { mid?: unknown; user_id?: unknown }[]) {
          const mid = String(sl.mid ?? '');
          if (!mid) continue;
          this.slotMids.add(mid);
          if (sl.user_id === null || sl.user_id === undefined) this.midToUser.delete(mid);
          else this.midToUser.set(mid, String(sl.user_id));
        }
        this.o.onChange();
        return;
      case 'speaking':
        this.speaking.set(String(d.user_id), !!d.speaking);
        this.o.onSpeaking?.(String(d.user_id), !!d.speaking);
        return;
      case 'connected':
        this.mediaConnected = true;
        this.o.onChange();
        return;
      case 'disconnected':
        this.mediaConnected = false;
        this.o.onChange();
        this.o.onDisconnected?.();
        return;
      case 'error':
        this.counts.errors++;
        this.o.log?.(`sfu error: ${d.code ?? '?'} ${d.message ?? ''}`);
        return;
      default:
        return; // heartbeat_ack, active_speaker, mute: nothing to do here
    }
  }

  /** Asks for an ICE restart: a new offer with new credentials once signaling is stable. */
  restartIce() {
    if (this.closed) return;
    this.counts.restarts++;
    this.pc.restartIce();
    this.requestOffer();
  }

  /** Sends our offer (now or once the current exchange is over). */
  requestOffer() {
    this.wantOffer = true;
    this.run(() => this.maybeOffer());
  }

  /** Resolves when every queued step has run (tests, and callers that need a settled state). */
  settled(): Promise<void> {
    return this.queue;
  }

  close() {
    this.closed = true;
    this.state = 'closed';
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
    if (!this.wantOffer || this.pendingOffer || this.pc.signalingState !== 'stable' || this.state === 'identifying') return;
    this.wantOffer = false;
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const sdp = this.pc.localDescription?.sdp ?? offer.sdp ?? '';
    this.pendingOffer = { sdp };
    this.counts.offersSent++;
    this.o.send('offer', { sdp });
  }

  private async onAnswer(sdp: string) {
    if (this.abandoned > 0 || !this.pendingOffer || this.pc.signalingState !== 'have-local-offer') {
      if (this.abandoned > 0) this.abandoned--;
      // The answer to an offer we abandoned when the server's offer crossed it.
      this.counts.staleAnswers++;
      return;
    }
    this.pendingOffer = null;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    if (this.state === 'publishing') this.state = 'connected';
    this.o.onChange();
    await this.maybeOffer();
  }

  private async onServerOffer(sdp: string, version: unknown, streams: SfuStream[]) {
    this.counts.serverOffers++;
    if (this.pendingOffer) {
      // Glare: the server's offer wins; ours goes again after this exchange (new credentials
      // if it was an ICE restart, since restartIce() stays armed until an offer is answered).
      this.pendingOffer = null;
      this.abandoned++;
      this.wantOffer = true;
      if (this.pc.signalingState === 'have-local-offer') await this.pc.setLocalDescription({ type: 'rollback' });
    }
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    // Per-user sections are re-mapped from the offer; slots keep their current speaker.
    const slotUsers = new Map([...this.slotMids].map((m) => [m, this.midToUser.get(m)]));
    this.midToUser.clear();
    for (const s of streams) {
      if (s.kind !== 'audio' && s.kind) continue;
      const mid = String(s.mid);
      if (s.slot !== undefined && s.slot !== null) {
        this.slotMids.add(mid);
        const u = slotUsers.get(mid);
        if (u) this.midToUser.set(mid, u);
      } else if (s.user_id) {
        this.midToUser.set(mid, String(s.user_id));
      }
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.counts.answersSent++;
    this.o.send('answer', { sdp: this.pc.localDescription?.sdp ?? answer.sdp ?? '', version });
    if (this.state === 'publishing') this.state = 'connected';
    this.o.onChange();
    await this.maybeOffer();
  }
}
