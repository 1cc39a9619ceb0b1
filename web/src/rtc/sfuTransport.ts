// SFU mode: one RTCPeerConnection to the SFU, signaled over the /voice WebSocket (URL and
// voice token from the join answer). We publish the microphone with our own offer; the
// server adds receive m-sections with its own offers (SfuSignaling): a few last-N audio
// slots that carry the loudest speakers (mapped to users by `slots` events), or one section
// per other participant (the offer's `streams`). Each section plays in its own <audio>
// element; per-user stats and levels come from the receiver currently carrying that user.
import { IceWatchdog } from './iceWatchdog';
import type { KeyedStats, QualityReportPayload } from './qualityReport';
import type { VoiceState } from '../api/types';
import { SfuSignaling } from './sfuSignaling';
import { EnergyMeter, readInboundEnergy, SPEAKING_HINT_LEVEL } from './audioLevel';
import { inboundAudio, summarizeStats, type PeerStats } from './stats';
import type { InboundAudio, PeerInfo, TrackSource, TransportContext, VoiceTransport } from './transport';

interface SfuJoinInfo {
  url?: string;
}

interface Remote {
  mid: string;
  userId: string;
  receiver: RTCRtpReceiver;
  audio: HTMLAudioElement;
  stats: PeerStats | null;
  /** Level of this section; reset when it starts carrying another user (a last-N slot). */
  meter: EnergyMeter;
}

export class SfuTransport implements VoiceTransport {
  readonly mode = 'sfu' as const;
  readonly pc: RTCPeerConnection;
  signaling: SfuSignaling;
  private ws: WebSocket | null = null;
  private closed = false;
  private remotes = new Map<string, Remote>(); // by mid
  private playback = { volumes: {} as Record<string, number>, deafened: false, sinkId: '' };
  /** Our senders by source; 'mic' is absent when we joined listen-only. */
  private readonly senders = new Map<TrackSource, RTCRtpSender>();
  private iceWatchdog!: IceWatchdog;
  private sfuSpeaking: Record<string, boolean> = {};
  private audible = true;
  iceRestarts = 0;
  /** When each step of joining happened (performance.now(), ms): join-time diagnostics. */
  readonly timeline: Record<string, number> = { created: performance.now() };

  constructor(private readonly ctx: TransportContext) {
    this.pc = new RTCPeerConnection({
      iceServers: [], // the SFU is ICE-lite with a public host candidate
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    if (ctx.localTrack && ctx.localStream) {
      this.senders.set('mic', this.pc.addTransceiver(ctx.localTrack, { direction: 'sendonly', streams: [ctx.localStream] }).sender);
    } else {
      this.pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    this.pc.ontrack = (ev) => this.onTrack(ev);
    this.iceWatchdog = new IceWatchdog(this.pc, () => this.restartIce());
    this.pc.onconnectionstatechange = () => this.onState();
    this.pc.oniceconnectionstatechange = () => this.onState();
    this.signaling = this.newSignaling();
  }

  private newSignaling() {
    return new SfuSignaling(this.pc as never, {
      token: this.ctx.join.voice_token ?? '',
      channelId: this.ctx.join.channel_id,
      traceparent: this.ctx.join.traceparent,
      send: (op, d) => {
        if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op, d }));
      },
      onChange: () => {
        this.markSteps();
        this.syncRemotes();
      },
      onSpeaking: (uid, on) => {
        this.sfuSpeaking = { ...this.sfuSpeaking, [uid]: on };
      },
      onDisconnected: () => this.restartIce(),
      onServerUpdate: (d) => this.ctx.onServerUpdate?.(d),
      onStateLost: (d) => this.ctx.onStateLost?.(d),
      log: this.ctx.log,
    });
  }

  start() {
    this.connect();
  }

  private connect() {
    if (this.closed) return;
    const url = (this.ctx.join.sfu as SfuJoinInfo | undefined)?.url;
    if (!url) {
      this.ctx.log('sfu: the join answer has no sfu.url');
      return;
    }
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.mark('wsOpen');
      this.signaling.open();
    };
    ws.onmessage = (ev) => {
      try {
        this.signaling.handle(JSON.parse(String(ev.data)));
      } catch (e) {
        this.ctx.log('sfu: bad frame', e);
      }
    };
    ws.onclose = (ev) => {
      if (this.closed || this.ws !== ws) return;
      this.ctx.log(`sfu signaling closed (${ev.code})`);
      if (ev.code === 4004 || ev.code === 4005) return; // refused or replaced: not ours to retry
      if (ev.code === 4006) {
        // Our voice state ended on the server (kicked, channel deleted, CONNECT removed).
        this.ctx.onEnded?.(ev.reason || 'voice state ended');
        return;
      }
      // The SFU ends our session with the signaling connection: join again from scratch.
      this.ctx.onFailed?.(`sfu signaling closed (${ev.code})`);
    };
  }

  /** ICE restart: new credentials in a new offer (also used on failure). */
  restartIce() {
    if (this.closed) return;
    this.iceRestarts++;
    this.ctx.log('sfu: ICE restart');
    this.signaling.restartIce();
    this.ctx.onChange();
  }

  private mark(step: string) {
    this.timeline[step] ??= performance.now();
  }

  private markSteps() {
    const sig = this.signaling;
    if (sig.state !== 'identifying') this.mark('ready');
    if (sig.state === 'connected') this.mark('published');
    if (sig.counts.serverOffers > 0) this.mark('subscribed');
    if (sig.mediaConnected) this.mark('mediaConnected');
  }

  private onTrack(ev: RTCTrackEvent) {
    this.mark('firstTrack');
    const mid = ev.transceiver.mid;
    if (!mid) return;
    let r = this.remotes.get(mid);
    if (!r) {
      const audio = new Audio();
      audio.autoplay = true;
      r = { mid, userId: this.userForMid(mid, ev) ?? '', receiver: ev.receiver, audio, stats: null, meter: new EnergyMeter() };
      this.remotes.set(mid, r);
    }
    r.audio.srcObject = new MediaStream([ev.track]);
    void r.audio.play().catch(() => {});
    this.syncRemotes();
  }

  private userForMid(mid: string, ev?: RTCTrackEvent): string | undefined {
    const u = this.signaling.midToUser.get(mid);
    if (u) return u;
    const sid = ev?.streams[0]?.id;
    return sid && /^u\d+$/.test(sid) ? sid.slice(1) : undefined;
  }

  /** Re-maps mids to users after each server offer; inactive sections lose their user. */
  private syncRemotes() {
    for (const [mid, r] of this.remotes) {
      const uid = this.signaling.midToUser.get(mid) ?? '';
      if (uid !== r.userId) {
        r.userId = uid;
        r.meter.reset();
        r.stats = null;
      }
      this.applyPlayback(r, true);
    }
    this.ctx.onChange();
  }

  voiceState(_vs: VoiceState) {
    // Participants come and go through the SFU's own offers; nothing to do per state.
  }

  signal() {
    // No gateway signaling in SFU mode.
  }

  /**
   * The microphone's track is swapped in place. Another source adds a send-only section
   * the first time and publishes it with a new offer of ours (SfuSignaling queues it
   * behind any exchange in progress).
   */
  async publish(source: TrackSource, track: MediaStreamTrack | null) {
    const sender = this.senders.get(source);
    if (sender) {
      await sender.replaceTrack(track);
      return;
    }
    if (source === 'mic' || !track || this.closed) return;
    this.senders.set(source, this.pc.addTransceiver(track, { direction: 'sendonly', streams: [new MediaStream([track])] }).sender);
    this.signaling.requestOffer();
  }

  async unpublish(source: TrackSource) {
    const sender = this.senders.get(source);
    if (!sender) return;
    if (source === 'mic') {
      await sender.replaceTrack(null);
      return;
    }
    this.senders.delete(source);
    if (this.closed) return;
    this.pc.removeTrack(sender);
    this.signaling.requestOffer();
  }

  setPlayback(volumes: Record<string, number>, deafened: boolean, sinkId: string) {
    const sinkChanged = sinkId !== this.playback.sinkId;
    this.playback = { volumes, deafened, sinkId };
    for (const r of this.remotes.values()) this.applyPlayback(r, sinkChanged);
  }

  private applyPlayback(r: Remote, sink: boolean) {
    r.audio.volume = Math.min(1, Math.max(0, (this.playback.volumes[r.userId] ?? 100) / 100));
    // A last-N slot plays even before its `slots` event names the speaker (no lost syllable);
    // a per-user section whose user left is silent.
    r.audio.muted = this.playback.deafened || !this.audible || (!r.userId && !this.signaling.slotMids.has(r.mid));
    const a = r.audio as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
    if (sink && this.playback.sinkId && a.setSinkId) void a.setSinkId(this.playback.sinkId).catch(() => {});
  }

  setAudible(on: boolean) {
    this.audible = on;
    for (const r of this.remotes.values()) this.applyPlayback(r, false);
  }

  mediaReady(): boolean {
    return this.signaling.mediaConnected || this.pc.connectionState === 'connected';
  }

  async inbound(): Promise<Record<string, InboundAudio>> {
    const out: Record<string, InboundAudio> = {};
    await Promise.all(
      this.active().map(async (r) => {
        const report = await r.receiver.getStats().catch(() => null);
        if (!report) return;
        const a = inboundAudio(report);
        const o = (out[r.userId] ??= { packetsReceived: 0, concealedSamples: 0, totalSamplesReceived: 0 });
        o.packetsReceived += a.packetsReceived;
        o.concealedSamples += a.concealedSamples;
        o.totalSamplesReceived += a.totalSamplesReceived;
      }),
    );
    return out;
  }

  private active(): Remote[] {
    return [...this.remotes.values()].filter((r) => r.userId);
  }

  async levels(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    await Promise.all(
      this.active().map(async (r) => {
        const report = await r.receiver.getStats().catch(() => null);
        let lvl = r.meter.update(report ? readInboundEnergy(report) : { energy: 0, duration: 0, instant: 0 });
        // The SFU's speaking events (from the sender's RFC 6464 levels) count too.
        if (this.sfuSpeaking[r.userId]) lvl = Math.max(lvl, SPEAKING_HINT_LEVEL);
        out[r.userId] = Math.max(out[r.userId] ?? 0, lvl);
      }),
    );
    // Last-N: people who speak but are not forwarded to us still show as speaking.
    for (const [uid, on] of Object.entries(this.sfuSpeaking)) if (on && !(uid in out)) out[uid] = SPEAKING_HINT_LEVEL;
    return out;
  }

  peers(): PeerInfo[] {
    const byUser = new Map<string, PeerInfo>();
    for (const r of this.active()) {
      byUser.set(r.userId, { userId: r.userId, connectionState: this.pc.connectionState, iceRestarts: this.iceRestarts, stats: r.stats });
    }
    return [...byUser.values()];
  }

  async qualityStats(): Promise<KeyedStats[]> {
    return [{ key: 'sfu', report: await this.pc.getStats() }];
  }

  sendQuality(report: QualityReportPayload) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op: 'quality', d: report }));
  }

  async refreshStats() {
    await Promise.all(
      this.active().map(async (r) => {
        const report = await r.receiver.getStats().catch(() => null);
        if (report) r.stats = summarizeStats(report);
      }),
    );
  }

  private onState() {
    if (this.closed) return;
    this.iceWatchdog.update();
    this.ctx.onChange();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.iceWatchdog.stop();
    this.signaling.close();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
    this.pc.close();
    for (const r of this.remotes.values()) {
      r.audio.pause();
      r.audio.srcObject = null;
    }
    this.remotes.clear();
  }
}
