// One remote participant in a P2P mesh: its RTCPeerConnection, perfect negotiation, remote
// audio playback with per-user volume, ICE restart when the connection fails or stays
// disconnected, and cheap level reads (RTP contributing sources) for speaking indicators.
import { IceWatchdog } from './iceWatchdog';
import { Negotiator, isPolite, type SignalPayload } from './negotiation';
import { inboundAudio, summarizeStats, type PeerStats } from './stats';
import type { InboundAudio } from './transport';

export interface PeerLinkOptions {
  myId: string;
  peerId: string;
  iceServers: RTCIceServer[];
  forceRelay: boolean;
  localTrack: MediaStreamTrack | null;
  localStream: MediaStream | null;
  send: (payload: SignalPayload) => void;
  onChange: () => void;
  log?: (msg: string, e?: unknown) => void;
}


export class PeerLink {
  readonly pc: RTCPeerConnection;
  readonly negotiator: Negotiator;
  readonly audio: HTMLAudioElement;
  private iceWatchdog!: IceWatchdog;
  private closed = false;
  iceRestarts = 0;
  stats: PeerStats | null = null;
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
      this.audio.srcObject = stream;
      void this.audio.play().catch(() => {});
      o.onChange();
    };
    this.iceWatchdog = new IceWatchdog(this.pc, () => this.restartIce());
    this.pc.onconnectionstatechange = () => this.onState();
    this.pc.oniceconnectionstatechange = () => this.onState();
    if (o.localTrack && o.localStream) this.pc.addTrack(o.localTrack, o.localStream);
    else this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.watchdog = setInterval(() => this.checkStuck(), 2000);
  }

  private watchdog: ReturnType<typeof setInterval>;

  /** Offers that got no answer are retried; a pair that never got going restarts ICE. */
  private checkStuck() {
    const now = Date.now();
    void this.negotiator.retryIfStuck(now);
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

  setVolume(percent: number, deafened: boolean) {
    this.audio.volume = Math.min(1, Math.max(0, percent / 100));
    this.audio.muted = deafened;
  }

  /** Inbound audio counters of this peer's receiver. */
  async inbound(): Promise<InboundAudio> {
    const r = this.pc.getReceivers().find((x) => x.track?.kind === 'audio');
    if (!r || this.closed) return { packetsReceived: 0, concealedSamples: 0, totalSamplesReceived: 0 };
    return inboundAudio(await r.getStats());
  }

  async setSink(deviceId: string) {
    const a = this.audio as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
    if (a.setSinkId) await a.setSinkId(deviceId).catch((e) => this.o.log?.('setSinkId failed', e));
  }

  async replaceTrack(track: MediaStreamTrack | null) {
    for (const s of this.pc.getSenders()) if (!s.track || s.track.kind === 'audio') await s.replaceTrack(track);
  }

  private energy: { e: number; d: number } | null = null;
  private lastLevel = 0;

  /**
   * Audio level of what this peer sent us since the last call (RMS, 0..1), from the inbound
   * audio's totalAudioEnergy / totalSamplesDuration: it covers the whole interval, so short
   * sounds between two polls still count. Uses the receiver's own (small) stats report.
   */
  async level(): Promise<number> {
    const r = this.pc.getReceivers().find((x) => x.track?.kind === 'audio');
    if (!r || this.closed) return 0;
    let e = 0;
    let d = 0;
    let instant = 0;
    const report = await r.getStats();
    report.forEach((s: any) => {
      if (s.type === 'inbound-rtp') {
        e = s.totalAudioEnergy ?? 0;
        d = s.totalSamplesDuration ?? 0;
        instant = s.audioLevel ?? 0;
      }
    });
    const prev = this.energy;
    this.energy = { e, d };
    if (prev && d > prev.d) this.lastLevel = Math.sqrt(Math.max(0, e - prev.e) / (d - prev.d));
    else if (!prev) this.lastLevel = instant;
    else this.lastLevel = 0; // no new samples (DTX or nothing decoded)
    return this.lastLevel;
  }

  async refreshStats(): Promise<PeerStats> {
    this.stats = summarizeStats(await this.pc.getStats());
    return this.stats;
  }

  restartIce() {
    if (this.closed) return;
    this.iceRestarts++;
    this.o.log?.(`ICE restart with ${this.o.peerId}`);
    this.pc.restartIce();
  }

  private onState() {
    if (this.closed) return;
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
    this.audio.pause();
    this.audio.srcObject = null;
  }
}
