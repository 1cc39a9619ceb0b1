// The client side of the SFU signaling protocol (docs/protocol.md, "SFU signaling (/voice)"),
// independent of the DOM so it can be unit tested with a fake peer connection:
// identify -> ready -> our offer (publish) -> the server's answer; then the server drives
// subscriptions with its own offers, which we answer. The offer/answer exchange itself, with
// its glare handling (the server's offer wins; ours goes again), is sfuNegotiation.ts,
// shared with the stream connection (streamSignaling.ts).
import type { NegotiablePC } from './negotiation';
import { SfuNegotiation } from './sfuNegotiation';

export interface SfuStream {
  mid: string;
  ssrc: number;
  /** The publisher of a per-user stream; absent for a slot. */
  user_id?: string;
  kind: string;
  /** Last-N audio slot index: the SFU puts the loudest speakers into a few fixed slots. */
  slot?: number;
  /** "screen" for a watched stream's section (stream connections). */
  source?: string;
}

export interface SfuPC extends NegotiablePC {
  restartIce(): void;
}

export interface SfuSignalingOptions {
  token: string;
  channelId: string;
  /** The join answer's traceparent: the SFU's join spans continue the REST join's trace. */
  traceparent?: string;
  send: (op: string, d: unknown) => void;
  /** Streams (mid -> user) or participants changed, or the connection state did. */
  onChange: () => void;
  /** A user's speaking state from the SFU's `speaking` events. */
  onSpeaking?: (userId: string, speaking: boolean) => void;
  /** The SFU lost ICE consent or DTLS for us: restart ICE. */
  onDisconnected?: () => void;
  /** `server_update`: the channel moved to another SFU node (this one drains). */
  onServerUpdate?: (d: { channel_id?: string; sfu?: { id?: string } }) => void;
  /** `state_lost`: the cluster's voice-state store lost our state; write it back (media goes on). */
  onStateLost?: (d: { channel_id: string; session: string }) => void;
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

  private readonly negotiation: SfuNegotiation;
  private closed = false;

  constructor(
    private readonly pc: SfuPC,
    private readonly o: SfuSignalingOptions,
  ) {
    this.negotiation = new SfuNegotiation(pc, { send: o.send, canOffer: () => this.state !== 'identifying', log: o.log }, this.counts);
  }

  /** Call when the WebSocket opens. */
  open() {
    this.o.send('identify', {
      token: this.o.token,
      channel_id: this.o.channelId,
      ...(this.o.traceparent ? { traceparent: this.o.traceparent } : {}),
    });
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
        this.negotiation.answer(String(d.sdp ?? ''), () => this.exchanged());
        return;
      case 'offer': {
        const streams = (d.streams ?? []) as SfuStream[];
        this.negotiation.offer(String(d.sdp ?? ''), d.version, { applied: () => this.mapStreams(streams), answered: () => this.exchanged() });
        return;
      }
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
      case 'server_update':
        this.o.onServerUpdate?.({ channel_id: String(d.channel_id ?? ''), sfu: { id: String(d.sfu?.id ?? '') } });
        return;
      case 'state_lost':
        this.o.onStateLost?.({ channel_id: String(d.channel_id ?? ''), session: String(d.session ?? '') });
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
    this.negotiation.requestOffer();
  }

  /** Resolves when every queued step has run (tests, and callers that need a settled state). */
  settled(): Promise<void> {
    return this.negotiation.settled();
  }

  close() {
    this.closed = true;
    this.state = 'closed';
    this.negotiation.close();
  }

  /** An answer of ours or of the server's is applied: we publish. */
  private exchanged() {
    if (this.state === 'publishing') this.state = 'connected';
    this.o.onChange();
  }

  /** Per-user sections are re-mapped from each server offer; slots keep their current speaker. */
  private mapStreams(streams: SfuStream[]) {
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
  }
}
