// One stream connection to the SFU (docs/protocol.md, "Stream connections (screen share)"):
// a /voice WebSocket identified with `kind: "stream"` and an RTCPeerConnection of its own,
// beside (and independent of) the voice transport, P2P or SFU. Our offers always carry a
// recvonly video and a recvonly audio section, so the SFU can add the streams we watch;
// while we share, a sendonly video section (and audio, when the capture has some) carries
// our screen with the preset's explicit bitrate and frame-rate limits. Stopping a share
// makes those sections inactive (they are reused by the next share).
import { StreamSignaling } from './streamSignaling';
import type { KeyedStats, QualityReportPayload } from './qualityReport';
import { contentSettings, sendParameters, simulcastLayers, STREAM_AUDIO_BITRATE, type LayerFlags, type StreamContent, type StreamPreset } from './streamPresets';
import { tracksByUser, type LiveStream } from './streamList';

export interface StreamConnectionOptions {
  url: string;
  token: string;
  channelId: string;
  /** Live list, received media or the connection state changed. */
  onChange: () => void;
  /** An `error` from the SFU on this connection (stream_denied, stream_ended, not_streaming, ...). */
  onError: (code: string, message: string) => void;
  /** The connection is gone (`voice_state_ended` on 4006, `replaced` on 4005, else `closed`). */
  onClosed: (reason: 'voice_state_ended' | 'replaced' | 'auth_failed' | 'closed', code: number) => void;
  log: (msg: string, e?: unknown) => void;
  /** Seams for tests. */
  createPC?: () => RTCPeerConnection;
  createSocket?: (url: string) => WebSocket;
}

/** What StreamService needs of a stream connection (tests pass a fake). */
export interface StreamLink {
  start(): void;
  share(video: MediaStreamTrack, audio: MediaStreamTrack | null, p: StreamPreset, content: StreamContent): Promise<void>;
  configure(p: StreamPreset, content: StreamContent): Promise<void>;
  stopShare(): Promise<void>;
  watch(userId: string): void;
  unwatch(userId: string): void;
  /** Forget a watch the SFU ended (the streamer stopped). */
  forget(userId: string): void;
  readonly live: LiveStream[] | null;
  /** Each watched streamer's media now (stable objects while the tracks stay the same). */
  media(): Map<string, MediaStream>;
  /** Raw getStats while sharing (null otherwise), and the report's way out (quality reports). */
  qualityStats?(): Promise<KeyedStats[] | null>;
  sendQuality?(report: QualityReportPayload): void;
  close(): void;
}

interface Share {
  video: RTCRtpTransceiver;
  audio: RTCRtpTransceiver | null;
  preset: StreamPreset;
  content: StreamContent;
  /** The simulcast layers the SFU wants encoded (its latest `layers` op; {}: all of them). */
  layers: LayerFlags;
}

export class StreamConnection implements StreamLink {
  readonly pc: RTCPeerConnection;
  readonly signaling: StreamSignaling;
  private ws: WebSocket | null = null;
  private closed = false;
  private share_: Share | null = null;
  /** Reusable send sections from an earlier share (inactive now). */
  private spare: { video: RTCRtpTransceiver | null; audio: RTCRtpTransceiver | null } = { video: null, audio: null };
  private readonly received = new Map<string, MediaStreamTrack>(); // by mid
  /** setParameters calls, one at a time (each needs the parameters the previous one left). */
  private params: Promise<void> = Promise.resolve();
  private readonly streams = new Map<string, MediaStream>(); // by user id
  /** When each step happened (performance.now(), ms): diagnostics and tests. */
  readonly timeline: Record<string, number> = { created: performance.now() };

  constructor(private readonly o: StreamConnectionOptions) {
    this.pc = o.createPC?.() ?? new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    // Always there, so the SFU can offer the streams we watch (it answers `no_video_section`
    // to a watch otherwise).
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.ontrack = (ev) => {
      const mid = ev.transceiver.mid;
      if (!mid) return;
      this.received.set(mid, ev.track);
      this.timeline.firstTrack ??= performance.now();
      this.o.onChange();
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'connected') this.timeline.connected ??= performance.now();
      this.o.onChange();
    };
    this.signaling = new StreamSignaling(this.pc as never, {
      token: o.token,
      channelId: o.channelId,
      send: (op, d) => {
        if (this.ws?.readyState === 1) this.ws.send(JSON.stringify({ op, d }));
      },
      onChange: () => {
        if (this.signaling?.state === 'connected') this.timeline.negotiated ??= performance.now();
        void this.applyLimits();
        this.o.onChange();
      },
      onError: (code, message) => this.o.onError(code, message),
      onLayers: (mid, active) => void this.setLayers(mid, active),
      log: o.log,
    });
  }

  async qualityStats(): Promise<KeyedStats[] | null> {
    if (!this.share_ || this.closed) return null;
    return [{ key: 'stream', report: await this.pc.getStats() }];
  }

  sendQuality(report: QualityReportPayload) {
    if (this.ws?.readyState === 1) this.ws.send(JSON.stringify({ op: 'quality', d: report }));
  }

  start() {
    if (this.closed || this.ws) return;
    const ws = this.o.createSocket?.(this.o.url) ?? new WebSocket(this.o.url);
    this.ws = ws;
    ws.onopen = () => {
      this.timeline.wsOpen = performance.now();
      this.signaling.open();
    };
    ws.onmessage = (ev) => {
      try {
        this.signaling.handle(JSON.parse(String(ev.data)));
      } catch (e) {
        this.o.log('stream: bad frame', e);
      }
    };
    ws.onclose = (ev) => {
      if (this.closed || this.ws !== ws) return;
      this.o.log(`stream signaling closed (${ev.code})`);
      const reason = ev.code === 4006 ? 'voice_state_ended' : ev.code === 4005 ? 'replaced' : ev.code === 4004 ? 'auth_failed' : 'closed';
      this.close();
      this.o.onClosed(reason, ev.code);
    };
  }

  get live(): LiveStream[] | null {
    return this.signaling.live;
  }

  get sharing(): boolean {
    return !!this.share_;
  }

  async share(video: MediaStreamTrack, audio: MediaStreamTrack | null, p: StreamPreset, content: StreamContent) {
    if (this.closed) return;
    const stream = new MediaStream(audio ? [video, audio] : [video]);
    const v = await this.sendSection('video', video, stream, p);
    const a = audio ? await this.sendSection('audio', audio, stream, p) : null;
    // An audio section of an earlier share that this capture cannot feed stays inactive.
    if (!audio && this.spare.audio) this.spare.audio.direction = 'inactive';
    // A new share encodes every layer (a reused sender may still have some paused) until the
    // SFU says otherwise.
    this.share_ = { video: v, audio: a, preset: p, content, layers: {} };
    await this.applyLimits();
    this.signaling.requestOffer();
  }

  private async sendSection(kind: 'video' | 'audio', track: MediaStreamTrack, stream: MediaStream, p: StreamPreset): Promise<RTCRtpTransceiver> {
    const spare = this.spare[kind];
    if (spare) {
      this.spare[kind] = null;
      await spare.sender.replaceTrack(track);
      spare.sender.setStreams?.(stream);
      spare.direction = 'sendonly';
      return spare;
    }
    // Video goes out as three simulcast layers (the SFU picks one per viewer).
    const sendEncodings = kind === 'video' ? simulcastLayers(p) : [{ maxBitrate: STREAM_AUDIO_BITRATE }];
    return this.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings });
  }

  /** A new preset or content type while sharing: constraints, hint and limits, no renegotiation. */
  async configure(p: StreamPreset, content: StreamContent) {
    const s = this.share_;
    if (!s) return;
    s.preset = p;
    s.content = content;
    const track = s.video.sender.track;
    if (track) track.contentHint = contentSettings(content).contentHint;
    await this.applyLimits();
  }

  /**
   * The SFU's `layers` op: encode only the simulcast layers someone needs (a paused layer
   * costs neither upload nor encoder CPU). Kept with the share, so a preset change keeps it.
   */
  async setLayers(mid: string, active: LayerFlags) {
    const s = this.share_;
    if (!s || s.video.mid !== mid) return;
    s.layers = { ...active };
    await this.applyLimits();
  }

  /** The SFU's latest wanted layers for our share (diagnostics and tests). */
  get layers(): LayerFlags | null {
    return this.share_?.layers ?? null;
  }

  /**
   * Sets the preset's limits (explicitly: browsers cap screen content low) and the SFU's
   * active layers on our video sender, after any call still under way.
   */
  private applyLimits(): Promise<void> {
    this.params = this.params.then(async () => {
      const s = this.share_;
      if (!s || this.closed) return;
      try {
        const sender = s.video.sender;
        await sender.setParameters(sendParameters(sender.getParameters(), s.preset, s.content, s.layers));
      } catch (e) {
        this.o.log('stream: setParameters failed', e);
      }
    });
    return this.params;
  }

  async stopShare() {
    const s = this.share_;
    if (!s) return;
    this.share_ = null;
    for (const t of [s.video, s.audio]) {
      if (!t) continue;
      t.direction = 'inactive';
      await t.sender.replaceTrack(null).catch(() => {});
    }
    this.spare = { video: s.video, audio: s.audio ?? this.spare.audio };
    if (!this.closed) this.signaling.requestOffer();
  }

  watch(userId: string) {
    this.signaling.watch(userId);
  }

  unwatch(userId: string) {
    this.signaling.unwatch(userId);
  }

  forget(userId: string) {
    this.signaling.forget(userId);
  }

  media(): Map<string, MediaStream> {
    const byUser = tracksByUser(this.signaling.sections, [...this.received].map(([mid, track]) => ({ mid, track })));
    const out = new Map<string, MediaStream>();
    for (const [uid, t] of byUser) {
      if (!this.signaling.watching.has(uid)) continue;
      const tracks = [t.video, t.audio].filter((x): x is MediaStreamTrack => !!x);
      let ms = this.streams.get(uid);
      const same = ms && ms.getTracks().length === tracks.length && tracks.every((x) => ms!.getTracks().includes(x));
      if (!ms || !same) {
        ms = new MediaStream(tracks);
        this.streams.set(uid, ms);
      }
      out.set(uid, ms);
    }
    for (const uid of [...this.streams.keys()]) if (!out.has(uid)) this.streams.delete(uid);
    return out;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.signaling.close();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.received.clear();
    this.streams.clear();
  }
}
