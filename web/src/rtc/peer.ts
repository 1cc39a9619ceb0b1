// One remote participant in a P2P mesh: its RTCPeerConnection, perfect negotiation, our
// published tracks (the microphone, and more sources added later renegotiate through
// perfect negotiation), remote audio playback with per-user volume (one element per remote
// stream), ICE restart when the connection fails or stays disconnected, and level reads
// from the receiver's energy counters for speaking indicators.
import { EnergyMeter, readInboundEnergy } from './audioLevel';
import { preferRed } from './codecs';
import { IceWatchdog } from './iceWatchdog';
import { Negotiator, isPolite, type SignalPayload } from './negotiation';
import { inboundAudio, summarizeStats, type PeerStats } from './stats';
import type { InboundAudio, TrackSource } from './transport';

export interface PeerLinkOptions {
  myId: string;
  peerId: string;
  iceServers: RTCIceServer[];
  forceRelay: boolean;
  /** The microphone (null: listen-only, a receive-only audio section instead). */
  localTrack: MediaStreamTrack | null;
  localStream: MediaStream | null;
  send: (payload: SignalPayload) => void;
  onChange: () => void;
  /** The connection never came up, even after an ICE restart: the owner replaces it. */
  onReset?: () => void;
  log?: (msg: string, e?: unknown) => void;
}


/** A connection that has not connected this long after it was made is replaced. */
export const REPLACE_AFTER_MS = 25_000;

export class PeerLink {
  readonly pc: RTCPeerConnection;
  readonly negotiator: Negotiator;
  /** Plays the peer's first remote stream (its microphone). */
  readonly audio: HTMLAudioElement;
  /** Remote stream id -> the element playing it; `audio` is the first. */
  private readonly players = new Map<string, HTMLAudioElement>();
  /** Our senders by source. 'mic' is the first audio section, negotiated at creation. */
  private readonly senders = new Map<TrackSource, RTCRtpSender>();
  private volume = { percent: 100, deafened: false };
  private iceWatchdog!: IceWatchdog;
  private closed = false;
  iceRestarts = 0;
  stats: PeerStats | null = null;
  /** This connection's id (signals carry it as `sid`); the peer's connection's, once known. */
  readonly localSession = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  remoteSession: string | null = null;

  constructor(private readonly o: PeerLinkOptions) {
    this.pc = new RTCPeerConnection({
      iceServers: o.iceServers,
      iceTransportPolicy: o.forceRelay ? 'relay' : 'all',
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.negotiator = new Negotiator(this.pc as never, isPolite(o.myId, o.peerId), o.send, undefined, (e) =>
      o.log?.(`negotiation with ${o.peerId} failed`, e),
    );
    this.audio = new Audio();
    this.audio.autoplay = true;
    this.pc.onnegotiationneeded = () => void this.negotiator.negotiationNeeded();
    this.pc.onicecandidate = (ev) => this.negotiator.localCandidate(ev.candidate ? ev.candidate.toJSON() : null);
    this.pc.ontrack = (ev) => {
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      // A stream we already play (the same source renegotiated) keeps its element; a new
      // source of the peer's gets its own, so a second track never replaces the microphone.
      const key = ev.streams[0]?.id ?? `mid:${ev.transceiver?.mid ?? ev.track.id}`;
      const el = this.player(key);
      el.srcObject = stream;
      void el.play().catch(() => {});
      o.onChange();
    };
    this.iceWatchdog = new IceWatchdog(this.pc, () => this.restartIce());
    this.pc.onconnectionstatechange = () => this.onState();
    this.pc.oniceconnectionstatechange = () => this.onState();
    const mic = o.localTrack && o.localStream ? this.pc.addTrack(o.localTrack, o.localStream) : this.pc.addTransceiver('audio', { direction: 'recvonly' }).sender;
    this.senders.set('mic', mic);
    preferRed(this.pc, mic); // both ways: our answer's order is what the peer sends
    this.watchdog = setInterval(() => this.checkStuck(), 2000);
  }

  private watchdog: ReturnType<typeof setInterval>;
  private readonly createdAt = Date.now();
  private everConnected = false;

  /** Offers that got no answer are retried; a pair that never got going restarts ICE. */
  private checkStuck() {
    const now = Date.now();
    void this.negotiator.retryIfStuck(now);
    if (this.pc.connectionState === 'connected') this.everConnected = true;
    // A connection that never came up in REPLACE_AFTER_MS (through retries and an ICE restart)
    // is replaced: a new RTCPeerConnection with a new sid, which makes the peer replace its
    // side too. What is left of an earlier negotiation (an answer paired with the wrong
    // offer, candidates lost) cannot hold the new one back.
    if (!this.everConnected && now - this.createdAt > REPLACE_AFTER_MS && this.o.onReset) {
      this.o.onReset();
      return;
    }
    if (this.negotiator.stalled(now, this.pc.connectionState)) {
      this.o.log?.(`connection with ${this.o.peerId} stalled in "new": ICE restart offer`);
      this.restartIce();
      void this.negotiator.negotiationNeeded();
    }
  }

  get polite() {
    return this.negotiator.polite;
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  receive(p: SignalPayload) {
    return this.negotiator.receive(p);
  }

  private player(key: string): HTMLAudioElement {
    let el = this.players.get(key);
    if (el) return el;
    if (this.players.size === 0) el = this.audio;
    else {
      el = new Audio();
      el.autoplay = true;
      this.applyVolume(el);
      if (this.sinkId) void this.setSinkOf(el, this.sinkId);
    }
    this.players.set(key, el);
    return el;
  }

  setVolume(percent: number, deafened: boolean) {
    this.volume = { percent, deafened };
    this.applyVolume(this.audio);
    for (const el of this.players.values()) if (el !== this.audio) this.applyVolume(el);
  }

  private applyVolume(el: HTMLAudioElement) {
    el.volume = Math.min(1, Math.max(0, this.volume.percent / 100));
    el.muted = this.volume.deafened;
  }

  /** Inbound audio counters of the peer's microphone (the first audio section's receiver). */
  async inbound(): Promise<InboundAudio> {
    const r = this.pc.getReceivers().find((x) => x.track?.kind === 'audio');
    if (!r || this.closed) return { packetsReceived: 0, concealedSamples: 0, totalSamplesReceived: 0 };
    return inboundAudio(await r.getStats());
  }

  private sinkId = '';

  async setSink(deviceId: string) {
    this.sinkId = deviceId;
    await this.setSinkOf(this.audio, deviceId);
    for (const el of this.players.values()) if (el !== this.audio) await this.setSinkOf(el, deviceId);
  }

  private async setSinkOf(el: HTMLAudioElement, deviceId: string) {
    const a = el as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
    if (a.setSinkId) await a.setSinkId(deviceId).catch((e) => this.o.log?.('setSinkId failed', e));
  }

  /**
   * Sends `track` as `source`. The microphone's section exists from the start, so a new mic
   * track (device change) is swapped in without renegotiation; another source adds a
   * section the first time, and negotiationneeded renegotiates it with the peer.
   */
  async publish(source: TrackSource, track: MediaStreamTrack | null) {
    const sender = this.senders.get(source);
    if (sender) {
      await sender.replaceTrack(track);
      return;
    }
    if (!track || this.closed) return;
    const added = this.pc.addTrack(track, new MediaStream([track]));
    if (track.kind === 'audio') preferRed(this.pc, added);
    this.senders.set(source, added);
  }

  /** Stops sending `source`. The microphone keeps its (now silent) section; others are removed. */
  async unpublish(source: TrackSource) {
    const sender = this.senders.get(source);
    if (!sender) return;
    if (source === 'mic') {
      await sender.replaceTrack(null);
      return;
    }
    this.senders.delete(source);
    if (!this.closed) this.pc.removeTrack(sender);
  }

  private meter = new EnergyMeter();

  /** Level of the peer's microphone since the last call (RMS, 0..1; see EnergyMeter). */
  async level(): Promise<number> {
    const r = this.pc.getReceivers().find((x) => x.track?.kind === 'audio');
    if (!r || this.closed) return 0;
    return this.meter.update(readInboundEnergy(await r.getStats()));
  }

  async refreshStats(): Promise<PeerStats> {
    this.stats = summarizeStats(await this.pc.getStats());
    return this.stats;
  }

  /** Negotiation state for diagnostics (tests print it when a pair does not connect). */
  diagnostics() {
    const ufrag = (sdp?: string) => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1] ?? null;
    return {
      polite: this.polite,
      signalingState: this.pc.signalingState,
      iceConnectionState: this.pc.iceConnectionState,
      iceGatheringState: this.pc.iceGatheringState,
      connectionState: this.pc.connectionState,
      localUfrag: ufrag(this.pc.localDescription?.sdp),
      remoteUfrag: ufrag(this.pc.remoteDescription?.sdp),
      localSession: this.localSession,
      remoteSession: this.remoteSession,
      iceRestarts: this.iceRestarts,
      ...this.negotiator.counts,
    };
  }

  restartIce() {
    if (this.closed) return;
    this.iceRestarts++;
    this.o.log?.(`ICE restart with ${this.o.peerId}`);
    this.pc.restartIce();
  }

  private onState() {
    if (this.closed) return;
    if (this.pc.connectionState === 'connected') this.everConnected = true;
    this.iceWatchdog.update();
    this.o.onChange();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.iceWatchdog.stop();
    clearInterval(this.watchdog);
    this.negotiator.close();
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
    this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
    this.pc.close();
    for (const el of new Set([this.audio, ...this.players.values()])) {
      el.pause();
      el.srcObject = null;
    }
  }
}
