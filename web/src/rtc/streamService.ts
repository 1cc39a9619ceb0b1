// Screen share for the UI: going live (REST first, then the capture), stopping (our button or
// the browser's own "Stop sharing"), watching other people's streams, and the stream
// connection's lifecycle: opened on the first share or watch, closed when nothing is shared
// or watched, when we leave voice, and when the server ends our access (4006, stream_ended,
// stream_denied), with a message the UI shows.
import { ApiError } from '../api/http';
import { StreamConnection, type StreamConnectionOptions, type StreamLink } from './streamConnection';
import type { GatewayStream, LiveStream } from './streamList';
import { contentSettings, DEFAULT_CONTENT, DEFAULT_PRESET, displayMediaOptions, isContent, isPresetId, preset, type StreamContent, type StreamPresetId } from './streamPresets';

/** Where the voice call is: the stream connection uses the call's token and SFU. */
export interface StreamCall {
  channelId: string;
  token: string;
  url: string;
}

export interface StreamServiceDeps {
  api: { post<T>(path: string, body?: unknown): Promise<T>; delete<T>(path: string): Promise<T> };
  call: () => StreamCall | null;
  /** Default: navigator.mediaDevices.getDisplayMedia. */
  capture?: (o: DisplayMediaStreamOptions) => Promise<MediaStream>;
  /** Default: a real StreamConnection. */
  connect?: (o: StreamConnectionOptions) => StreamLink;
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  log?: (msg: string, e?: unknown) => void;
}

export interface StreamSnapshot {
  share: 'idle' | 'starting' | 'sharing';
  preset: StreamPresetId;
  content: StreamContent;
  /** Our captured screen (the preview on our own tile) while sharing. */
  local: MediaStream | null;
  /** The capture came with audio (tab or system). */
  localAudio: boolean;
  error: string | null;
  /** Users whose stream we watch (or asked to). */
  watching: string[];
  /** Watched streams' media by user id. */
  media: Record<string, MediaStream>;
  /** The SFU's live list on our stream connection (null while none is open). */
  sfuLive: LiveStream[] | null;
  /** STREAM_UPDATE per user. */
  gateway: Record<string, GatewayStream>;
  /** Stream audio volume per streamer, 0-100. */
  volumes: Record<string, number>;
  /** A stream connection is open. */
  connected: boolean;
}

export const MISSING_PERMISSION_MESSAGE = 'You need the Stream permission in this channel to share your screen.';

const ERROR_TEXT: Record<string, string> = {
  stream_denied: 'The server refused your screen share: you need the Stream permission in this channel.',
  stream_ended: 'Your screen share was ended: you no longer have the Stream permission in this channel.',
  voice_state_ended: 'Screen share ended: you no longer have access to this voice channel.',
  replaced: 'Screen share continues in another tab or window.',
  auth_failed: 'Screen share could not connect: rejoin the voice channel and try again.',
  closed: 'Screen share connection lost.',
  not_streaming: 'That stream has ended.',
  codec_unsupported: "This browser cannot play that stream's video format.",
  no_video_section: 'Could not start watching: try again.',
};

export class StreamService {
  private snap: StreamSnapshot;
  private listeners = new Set<() => void>();
  private link: StreamLink | null = null;
  private linkChannel: string | null = null;
  /** Bumped by every start/stop/end, so a slow start that was overtaken gives up. */
  private seq = 0;
  private goneLiveIn: string | null = null;

  constructor(private readonly deps: StreamServiceDeps) {
    const st = deps.storage ?? globalThis.localStorage ?? null;
    let p: StreamPresetId = DEFAULT_PRESET;
    let c: StreamContent = DEFAULT_CONTENT;
    try {
      const sp = st?.getItem('hype.stream.preset') ?? '';
      const sc = st?.getItem('hype.stream.content') ?? '';
      if (isPresetId(sp)) p = sp;
      if (isContent(sc)) c = sc;
    } catch {
      /* ignore */
    }
    this.snap = { share: 'idle', preset: p, content: c, local: null, localAudio: false, error: null, watching: [], media: {}, sfuLive: null, gateway: {}, volumes: {}, connected: false };
  }

  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  getSnapshot = () => this.snap;

  private update(patch: Partial<StreamSnapshot>) {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l();
  }

  private log(msg: string, e?: unknown) {
    this.deps.log?.(msg, e);
  }

  /** For tests and diagnostics: the open stream connection. */
  get connection(): StreamLink | null {
    return this.link;
  }

  clearError() {
    if (this.snap.error) this.update({ error: null });
  }

  /** Goes live: POST /voice/stream first (nothing is captured without the right), then the capture. */
  async startShare(): Promise<void> {
    if (this.snap.share !== 'idle') return;
    const call = this.deps.call();
    if (!call) {
      this.update({ error: 'Join a voice channel to share your screen.' });
      return;
    }
    const seq = ++this.seq;
    this.update({ share: 'starting', error: null });
    try {
      await this.deps.api.post(`/voice/stream/${call.channelId}`);
    } catch (e) {
      if (seq !== this.seq) return;
      const denied = e instanceof ApiError && (e.code === 'missing_permission' || e.status === 403);
      this.update({ share: 'idle', error: denied ? MISSING_PERMISSION_MESSAGE : `Could not start sharing: ${errText(e)}` });
      return;
    }
    if (seq !== this.seq) {
      // Stopped (or left) while the go-live was in flight: withdraw it after it landed.
      void this.goOffline(call.channelId);
      return;
    }
    this.goneLiveIn = call.channelId;
    const p = preset(this.snap.preset);
    let media: MediaStream;
    try {
      const capture = this.deps.capture ?? ((o) => navigator.mediaDevices.getDisplayMedia(o));
      media = await capture(displayMediaOptions(p));
    } catch (e) {
      if (seq !== this.seq) return;
      this.goOffline(call.channelId);
      const cancelled = e instanceof Error && e.name === 'NotAllowedError';
      this.update({ share: 'idle', error: cancelled ? null : `Could not capture the screen: ${errText(e)}` });
      return;
    }
    const video = media.getVideoTracks()[0];
    if (seq !== this.seq || !video) {
      for (const t of media.getTracks()) t.stop();
      if (seq === this.seq) {
        this.goOffline(call.channelId);
        this.update({ share: 'idle', error: 'The capture has no video.' });
      }
      return;
    }
    const audio = media.getAudioTracks()[0] ?? null;
    video.contentHint = contentSettings(this.snap.content).contentHint;
    // The browser's own "Stop sharing" (or the shared window closing) ends the track.
    video.addEventListener('ended', () => {
      if (this.snap.local === media) void this.stopShare();
    });
    this.update({ share: 'sharing', local: media, localAudio: !!audio });
    const link = this.ensureLink(call);
    await link.share(video, audio, p, this.snap.content).catch((e) => this.log('stream: share failed', e));
  }

  /** Stops sharing: the capture ends, our sections go inactive, the go-live is withdrawn. */
  async stopShare(): Promise<void> {
    if (this.snap.share === 'idle') return;
    this.seq++;
    // Null while the go-live is still in flight: startShare withdraws it when it lands.
    const channelId = this.goneLiveIn;
    this.stopLocal();
    this.update({ share: 'idle', local: null, localAudio: false });
    const link = this.link;
    if (link) await link.stopShare().catch((e) => this.log('stream: stop failed', e));
    if (channelId) await this.goOffline(channelId);
    this.closeIfIdle();
  }

  private stopLocal() {
    for (const t of this.snap.local?.getTracks() ?? []) t.stop();
  }

  private goOffline(channelId: string): Promise<void> {
    this.goneLiveIn = null;
    return this.deps.api.delete(`/voice/stream/${channelId}`).then(
      () => undefined,
      (e) => this.log('stream: go-live withdrawal failed', e),
    );
  }

  /** The quality preset (kept for the next share; applied at once while sharing). */
  async setPreset(id: StreamPresetId) {
    this.update({ preset: id });
    this.persist();
    await this.reconfigure();
  }

  async setContent(c: StreamContent) {
    this.update({ content: c });
    this.persist();
    await this.reconfigure();
  }

  private async reconfigure() {
    const video = this.snap.local?.getVideoTracks()[0];
    if (!video || this.snap.share !== 'sharing') return;
    const p = preset(this.snap.preset);
    video.contentHint = contentSettings(this.snap.content).contentHint;
    await video.applyConstraints(displayMediaOptions(p).video as MediaTrackConstraints).catch((e) => this.log('stream: applyConstraints failed', e));
    await this.link?.configure(p, this.snap.content).catch((e) => this.log('stream: configure failed', e));
  }

  private persist() {
    try {
      const st = this.deps.storage ?? globalThis.localStorage;
      st?.setItem('hype.stream.preset', this.snap.preset);
      st?.setItem('hype.stream.content', this.snap.content);
    } catch {
      /* ignore */
    }
  }

  watch(userId: string) {
    const call = this.deps.call();
    if (!call) return;
    if (!this.snap.watching.includes(userId)) this.update({ watching: [...this.snap.watching, userId], error: null });
    this.ensureLink(call).watch(userId);
  }

  unwatch(userId: string) {
    if (!this.snap.watching.includes(userId)) return;
    this.link?.unwatch(userId);
    this.dropWatch(userId);
    this.closeIfIdle();
  }

  private dropWatch(userId: string) {
    const media = { ...this.snap.media };
    delete media[userId];
    this.update({ watching: this.snap.watching.filter((u) => u !== userId), media });
  }

  setVolume(userId: string, volume: number) {
    this.update({ volumes: { ...this.snap.volumes, [userId]: Math.min(100, Math.max(0, volume)) } });
  }

  /** STREAM_UPDATE from the gateway. */
  onStreamUpdate(d: { channel_id?: string | null; user_id?: string; live?: boolean; viewer_ids?: string[]; viewer_count?: number }) {
    if (!d.user_id) return;
    const gateway = { ...this.snap.gateway };
    if (!d.channel_id || !d.live) delete gateway[d.user_id];
    else gateway[d.user_id] = { channelId: d.channel_id, live: true, viewerIds: (d.viewer_ids ?? []).map(String), viewerCount: d.viewer_count ?? d.viewer_ids?.length ?? 0 };
    this.update({ gateway });
  }

  /**
   * Voice ended (left, switched channel, lost access): everything stream-related ends.
   * `message` is shown; the go-live is withdrawn unless `withdraw` is false (access lost:
   * the server has ended it already).
   */
  end({ message = null, withdraw = message === null }: { message?: string | null; withdraw?: boolean } = {}) {
    this.seq++;
    const channelId = this.goneLiveIn;
    this.stopLocal();
    this.closeLink();
    if (channelId && withdraw) void this.goOffline(channelId);
    this.goneLiveIn = null;
    this.update({ share: 'idle', local: null, localAudio: false, watching: [], media: {}, error: message });
  }

  private ensureLink(call: StreamCall): StreamLink {
    if (this.link && this.linkChannel === call.channelId) return this.link;
    this.closeLink();
    const opts: StreamConnectionOptions = {
      url: call.url,
      token: call.token,
      channelId: call.channelId,
      onChange: () => {
        if (this.link === link) this.linkChanged();
      },
      onError: (code) => {
        if (this.link === link) this.linkError(code);
      },
      onClosed: (reason) => {
        if (this.link !== link) return;
        this.link = null;
        this.end({ message: ERROR_TEXT[reason] ?? ERROR_TEXT.closed, withdraw: reason !== 'voice_state_ended' });
      },
      log: (m, e) => this.log(m, e),
    };
    const link = this.deps.connect?.(opts) ?? new StreamConnection(opts);
    this.link = link;
    this.linkChannel = call.channelId;
    this.update({ connected: true });
    link.start();
    return link;
  }

  private linkChanged() {
    const link = this.link;
    if (!link) return;
    const live = link.live;
    // A watched stream that stopped carrying media is no longer watched.
    if (live) {
      const liveIds = new Set(live.map((s) => s.userId));
      for (const u of this.snap.watching) {
        if (!liveIds.has(u)) {
          link.forget(u);
          this.dropWatch(u);
        }
      }
    }
    this.update({ sfuLive: live, media: Object.fromEntries(link.media()) });
    this.closeIfIdle();
  }

  private linkError(code: string) {
    if (code === 'stream_denied' || code === 'stream_ended') {
      // After our own stop the SFU confirms the end: nothing to say.
      if (this.snap.share === 'idle') return;
      // Our share is over (the server will not carry it); watching goes on.
      this.seq++;
      this.stopLocal();
      this.goneLiveIn = null;
      this.update({ share: 'idle', local: null, localAudio: false, error: ERROR_TEXT[code] });
      void this.link?.stopShare();
      this.closeIfIdle();
      return;
    }
    if (code === 'voice_state_ended') {
      this.end({ message: ERROR_TEXT.voice_state_ended, withdraw: false });
      return;
    }
    if (ERROR_TEXT[code]) this.update({ error: ERROR_TEXT[code] });
  }

  private closeIfIdle() {
    if (this.link && this.snap.share === 'idle' && this.snap.watching.length === 0) this.closeLink();
  }

  private closeLink() {
    const link = this.link;
    this.link = null;
    this.linkChannel = null;
    link?.close();
    if (this.snap.connected || this.snap.sfuLive) this.update({ connected: false, sfuLive: null, media: {} });
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
