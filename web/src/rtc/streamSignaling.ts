// The client side of a stream connection (docs/protocol.md, "Stream connections (screen
// share)"), independent of the DOM: identify with `kind: "stream"` -> ready -> our offer
// (always a recvonly video and audio section, so the SFU can offer watched streams; plus our
// screen while sharing) -> the server's offers add the streams we watch. `watch`/`unwatch`
// go out once our first offer is answered (the SFU needs our recvonly video section first).
// The offer/answer exchange is the voice connection's (sfuNegotiation.ts).
import type { NegotiablePC } from './negotiation';
import { SfuNegotiation, type NegotiationCounts } from './sfuNegotiation';
import type { SfuStream } from './sfuSignaling';
import { parseLiveStreams, streamSections, type LiveStream, type StreamSection } from './streamList';
import { parseLayerFlags } from './streamPresets';

/** Errors on the stream connection that end what we do on it (the UI says why). */
export const ENDING_ERRORS = new Set(['stream_ended', 'stream_denied', 'voice_state_ended']);

export interface StreamSignalingOptions {
  token: string;
  channelId: string;
  send: (op: string, d: unknown) => void;
  /** Sections, the live list or the state changed. */
  onChange: () => void;
  /** An `error` from the SFU (stream_denied, stream_ended, not_streaming, ...). */
  onError: (code: string, message: string) => void;
  /** `layers`: the SFU wants only these simulcast layers (by rid) of our section `mid` encoded. */
  onLayers?: (mid: string, active: Record<string, boolean>) => void;
  log?: (msg: string, e?: unknown) => void;
}

export type StreamSignalingState = 'identifying' | 'negotiating' | 'connected' | 'closed';

export class StreamSignaling {
  state: StreamSignalingState = 'identifying';
  /** Stream sections of the latest server offer, by mid. */
  sections = new Map<string, StreamSection>();
  /** The SFU's latest `streams` list (null before the first one). */
  live: LiveStream[] | null = null;
  mediaConnected = false;
  readonly counts: NegotiationCounts & { watches: number; unwatches: number; layerUpdates: number } = {
    offersSent: 0,
    answersSent: 0,
    serverOffers: 0,
    staleAnswers: 0,
    errors: 0,
    watches: 0,
    unwatches: 0,
    layerUpdates: 0,
  };
  /** Users we want to watch, and those the SFU was asked for. */
  private readonly wanted = new Set<string>();
  private readonly asked = new Set<string>();
  private readonly negotiation: SfuNegotiation;

  constructor(
    pc: NegotiablePC,
    private readonly o: StreamSignalingOptions,
  ) {
    this.negotiation = new SfuNegotiation(pc, { send: o.send, canOffer: () => this.state === 'negotiating' || this.state === 'connected', log: o.log }, this.counts);
  }

  /** Call when the WebSocket opens. */
  open() {
    this.o.send('identify', { token: this.o.token, channel_id: this.o.channelId, kind: 'stream' });
  }

  handle(msg: { op: string; d?: any }) {
    if (this.state === 'closed') return;
    const d = msg.d ?? {};
    switch (msg.op) {
      case 'ready':
        if (this.state !== 'identifying') return;
        this.state = 'negotiating';
        this.negotiation.requestOffer();
        this.o.onChange();
        return;
      case 'answer':
        this.negotiation.answer(String(d.sdp ?? ''), () => this.exchanged());
        return;
      case 'offer': {
        const streams = (Array.isArray(d.streams) ? d.streams : []) as SfuStream[];
        const sdp = String(d.sdp ?? '');
        this.negotiation.offer(sdp, d.version, {
          applied: () => {
            this.sections = streamSections(streams, sdp);
          },
          answered: () => this.exchanged(),
        });
        return;
      }
      case 'streams':
        this.live = parseLiveStreams(d);
        this.o.onChange();
        return;
      case 'layers': {
        const active = parseLayerFlags(d.active);
        if (typeof d.mid !== 'string' || !active) {
          this.o.log?.('sfu stream: malformed layers op');
          return;
        }
        this.counts.layerUpdates++;
        this.o.onLayers?.(d.mid, active);
        return;
      }
      case 'connected':
        this.mediaConnected = true;
        this.o.onChange();
        return;
      case 'disconnected':
        this.mediaConnected = false;
        this.o.onChange();
        return;
      case 'error': {
        const code = String(d.code ?? 'error');
        this.counts.errors++;
        this.o.log?.(`sfu stream error: ${code} ${d.message ?? ''}`);
        this.o.onError(code, String(d.message ?? ''));
        return;
      }
      default:
        return;
    }
  }

  /** Our sections changed (share started or stopped): offer again. */
  requestOffer() {
    if (this.state === 'closed') return;
    this.negotiation.requestOffer();
  }

  watch(userId: string) {
    this.wanted.add(userId);
    this.flush();
  }

  unwatch(userId: string) {
    this.wanted.delete(userId);
    if (this.asked.delete(userId) && this.state !== 'closed') {
      this.counts.unwatches++;
      this.o.send('unwatch', { user_id: userId });
    }
  }

  /** Forget a watch the SFU refused or ended (the user stopped streaming). */
  forget(userId: string) {
    this.wanted.delete(userId);
    this.asked.delete(userId);
  }

  get watching(): ReadonlySet<string> {
    return this.wanted;
  }

  settled(): Promise<void> {
    return this.negotiation.settled();
  }

  close() {
    this.state = 'closed';
    this.negotiation.close();
  }

  private exchanged() {
    if (this.state === 'negotiating') this.state = 'connected';
    this.flush();
    this.o.onChange();
  }

  /** Sends the watches the SFU has not been asked for yet, once our sections are answered. */
  private flush() {
    if (this.state !== 'connected') return;
    for (const u of this.wanted) {
      if (this.asked.has(u)) continue;
      this.asked.add(u);
      this.counts.watches++;
      this.o.send('watch', { user_id: u });
    }
  }
}
