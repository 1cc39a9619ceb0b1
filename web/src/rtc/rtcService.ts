// The one entry point for voice. The UI calls join/leave/mute/deafen and reads a snapshot;
// the transport behind it is chosen by the join answer's `mode` ('p2p' mesh or 'sfu'),
// so nothing in the UI depends on how audio travels.
import type { ApiClient } from '../api/http';
import type { VoiceJoinAnswer, VoiceState } from '../api/types';
import type { VoiceSettings } from '../settings/settings';
import { LocalAudio } from './localAudio';
import { ModeSwitcher, sfuNodeId, type SwitchRecord, type SwitchTiming } from './modeSwitch';
import { P2PTransport } from './p2pTransport';
import { SfuTransport } from './sfuTransport';
import { RemoteLevels, sameSpeakers, SpeakingDetector } from './speaking';
import { StreamService, type StreamServiceDeps } from './streamService';
import { QUALITY_INTERVAL_MS, QualityReporter } from './qualityReport';
import { quality, type PeerStats } from './stats';
import type { InboundAudio, PeerInfo, TransportContext, VoiceMode, VoiceTransport } from './transport';

export interface PeerView extends PeerInfo {
  quality: ReturnType<typeof quality>;
}

export interface VoiceSnapshot {
  mode: VoiceMode;
  status: 'idle' | 'joining' | 'connected' | 'error';
  channelId: string | null;
  guildId: string | null;
  selfMute: boolean;
  selfDeaf: boolean;
  transmitting: boolean;
  pttHeld: boolean;
  /** user id -> speaking now (includes ourselves) */
  speaking: Record<string, boolean>;
  peers: Record<string, PeerView>;
  error: string | null;
  micError: string | null;
}

export interface RtcDeps {
  api: ApiClient;
  sendGateway: (op: string, d: unknown) => void;
  myId: () => string | null;
  settings: () => VoiceSettings;
  /** Voice states the client knows, to hide speaking for muted users. */
  voiceState: (userId: string) => VoiceState | undefined;
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  log?: (msg: string, e?: unknown) => void;
  /** Builds transports (tests pass fakes; default: P2PTransport / SfuTransport). */
  transportFactory?: (mode: VoiceMode, ctx: TransportContext) => VoiceTransport | null;
  /** Mode-switch timing overrides (tests). */
  switchTiming?: Partial<SwitchTiming>;
  /** Screen-share seams (tests): capture and stream connection factories. */
  streams?: Pick<StreamServiceDeps, 'capture' | 'connect'>;
}

const LEVEL_INTERVAL_MS = 100;
/** Remote levels come from getStats: polled every 2nd level tick. */
const REMOTE_LEVEL_EVERY = 2;
const STATS_INTERVAL_MS = 2000;

export class RtcService {
  private transport: VoiceTransport | null = null;
  private local = new LocalAudio();
  private listeners = new Set<() => void>();
  private snap: VoiceSnapshot;
  private levelTimer: ReturnType<typeof setInterval> | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private qualityTimer: ReturnType<typeof setInterval> | null = null;
  /** Quality reports (every 10 s): one reporter per voice transport, one for the share. */
  private readonly voiceQuality = new QualityReporter();
  private voiceQualityOf: VoiceTransport | null = null;
  private readonly shareQuality = new QualityReporter();
  private shareQualityOf: unknown = null;
  private readonly speech = new SpeakingDetector();
  private readonly remoteLevels = new RemoteLevels(REMOTE_LEVEL_EVERY);
  private readonly switcher: ModeSwitcher;
  private joinSeq = 0;
  private rejoins = 0;
  /** The SFU node each SFU transport was made for (its join answer's). */
  private readonly nodeOf = new WeakMap<VoiceTransport, string>();
  private joinedAt = 0; // when the latest join answered (a call that lasted resets the rejoin budget)
  /** The latest join answer of the call (its voice token and SFU serve the stream connection). */
  private answer: VoiceJoinAnswer | null = null;
  localLevel = 0;
  /** Screen share: going live, watching, the stream connection (independent of the voice transport). */
  readonly streams: StreamService;

  constructor(private readonly deps: RtcDeps) {
    this.switcher = new ModeSwitcher(
      {
        current: () => this.transport,
        channelId: () => this.snap.channelId,
        myId: () => this.deps.myId(),
        callSeq: () => this.joinSeq,
        join: (channelId) => this.postJoin(channelId),
        createTransport: (myId, answer) => this.createTransport(myId, answer),
        preparePlayback: (t) => this.playbackOf(t),
        adopt: (next) => {
          this.transport = next;
          this.remoteLevels.reset();
          this.update({ mode: next.mode });
          this.applyPlayback();
          this.refreshPeers();
        },
        log: (m, e) => this.log(m, e),
      },
      deps.switchTiming,
    );
    const st = deps.storage ?? globalThis.localStorage ?? null;
    this.streams = new StreamService({
      api: deps.api,
      call: () => this.streamCall(),
      storage: deps.storage,
      log: (m, e) => this.log(m, e),
      ...deps.streams,
    });
    this.snap = {
      mode: 'p2p',
      status: 'idle',
      channelId: null,
      guildId: null,
      selfMute: st?.getItem('hype.voice.mute') === '1',
      selfDeaf: st?.getItem('hype.voice.deaf') === '1',
      transmitting: false,
      pttHeld: false,
      speaking: {},
      peers: {},
      error: null,
      micError: null,
    };
  }

  /** The mode of the current call, or of the next one ('p2p' until the server says otherwise). */
  get mode(): VoiceMode {
    return this.snap.mode;
  }

  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  getSnapshot = () => this.snap;

  private update(patch: Partial<VoiceSnapshot>) {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l();
  }

  private log(msg: string, e?: unknown) {
    this.deps.log?.(msg, e);
  }

  private forceRelay(): boolean {
    try {
      return globalThis.localStorage?.getItem('hype.forceRelay') === '1';
    } catch {
      return false;
    }
  }

  /**
   * Joins `channelId`. `opts.sfuFailed`: the SFU node this client just lost (a rejoin after a
   * failure): the server checks it first and moves the channel off it if it is gone.
   */
  async join(channelId: string, opts: { sfuFailed?: string } = {}): Promise<void> {
    const myId = this.deps.myId();
    if (!myId) throw new Error('not signed in');
    if (this.snap.channelId === channelId && this.snap.status !== 'error' && this.snap.status !== 'idle') return;
    const seq = ++this.joinSeq;
    // Switching channels: the server leaves the old one as part of the join.
    this.teardown();
    this.early = [];
    this.update({ status: 'joining', channelId, error: null, micError: null, speaking: {}, peers: {} });
    const settings = this.deps.settings();
    // The microphone opens while the server handles the join (both take a while; join time
    // is click to first audio). A microphone that fails turns into a self-mute right after.
    const mic = this.local.acquire(settings).then(
      () => null,
      (e: unknown) => {
        this.log('microphone unavailable; joining listen-only', e);
        return e instanceof Error ? e.message : String(e);
      },
    );
    let answer: VoiceJoinAnswer;
    try {
      answer = await this.postJoin(channelId, opts.sfuFailed);
    } catch (e) {
      await mic;
      if (seq !== this.joinSeq) return;
      this.local.close();
      this.update({ status: 'error', channelId: null, error: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    const micError = await mic;
    if (seq !== this.joinSeq) return;
    const muteForMic = !!micError && !this.snap.selfMute;
    const transport = this.createTransport(myId, answer);
    if (!transport) {
      this.update({ status: 'error', mode: answer.mode, error: `voice mode '${String(answer.mode)}' is not supported by this client` });
      return;
    }
    this.transport = transport;
    this.update({
      status: 'connected',
      mode: transport.mode,
      channelId: answer.channel_id ?? channelId,
      guildId: answer.guild_id ?? null,
      micError,
      selfMute: this.snap.selfMute || !!micError,
    });
    this.applyPlayback();
    this.applyTransmit();
    if (muteForMic) this.sendState();
    transport.start();
    const early = this.early;
    this.early = [];
    for (const e of early) this.onSignal(e.from, e.channelId, e.payload);
    this.startTimers();
  }

  private async postJoin(channelId: string, sfuFailed?: string, writeBack?: { session: string; node: string }): Promise<VoiceJoinAnswer> {
    const body: Record<string, unknown> = { self_mute: this.snap.selfMute, self_deaf: this.snap.selfDeaf };
    if (sfuFailed) body.sfu_failed = sfuFailed;
    if (writeBack) {
      body.session = writeBack.session;
      body.sfu_node = writeBack.node; // the channel the store forgot is placed here again
    }
    const answer = await this.deps.api.post<VoiceJoinAnswer>(`/voice/join/${channelId}`, body);
    this.joinedAt = Date.now();
    // A join of the channel we are in (a mode switch) refreshes the token of the same stay.
    this.answer = answer;
    return answer;
  }

  /** The call a stream connection joins: same voice token and SFU as the voice call. */
  private streamCall() {
    const a = this.answer;
    const url = (a?.sfu as { url?: string } | undefined)?.url;
    if (this.snap.status !== 'connected' || !a || !url || !a.voice_token || a.channel_id !== this.snap.channelId) return null;
    return { channelId: a.channel_id, token: a.voice_token, url };
  }

  private createTransport(myId: string, answer: VoiceJoinAnswer): VoiceTransport | null {
    const ctx: TransportContext = {
      myId,
      join: answer,
      forceRelay: this.forceRelay(),
      localTrack: this.local.track,
      localStream: this.local.stream,
      sendSignal: (to: string, payload: unknown) => this.deps.sendGateway('voice_signal', { to, payload }),
      onChange: () => this.refreshPeers(),
      log: (m: string, e?: unknown) => this.log(m, e),
      onFailed: (reason: string) => {
        if (transport) void this.transportFailed(transport, reason);
      },
      onEnded: (reason: string) => {
        if (transport) this.transportEnded(transport, reason);
      },
      // The same move the gateway's VOICE_SERVER_UPDATE announces; whichever comes first acts.
      onServerUpdate: (d) => this.onServerUpdate(d),
      onStateLost: (d) => void this.onStateLost(d),
    };
    let transport: VoiceTransport | null;
    if (answer.mode !== 'sfu' && answer.mode !== 'p2p') return null;
    if (this.deps.transportFactory) transport = this.deps.transportFactory(answer.mode, ctx);
    else if (answer.mode === 'sfu') transport = new SfuTransport(ctx);
    else transport = new P2PTransport(ctx);
    const node = sfuNodeId(answer);
    if (transport && answer.mode === 'sfu' && node) this.nodeOf.set(transport, node);
    return transport;
  }

  /** Completed mode switches and the wait of each (tests and diagnostics). */
  get switches(): readonly SwitchRecord[] {
    return this.switcher.switches;
  }

  /** VOICE_MODE_UPDATE from the gateway: switch make-before-break (modeSwitch.ts). */
  onModeUpdate(d: { channel_id?: string; mode?: string }) {
    if (!this.transport || this.snap.status !== 'connected' || d.channel_id !== this.snap.channelId) return;
    if (d.mode !== 'p2p' && d.mode !== 'sfu') return;
    this.switcher.request(d.mode);
  }

  /** Leaves the current channel (tells the server, then closes every connection). */
  async leave(opts: { keepalive?: boolean } = {}): Promise<void> {
    const channelId = this.snap.channelId;
    this.rejoins = 0;
    this.joinSeq++;
    this.teardown();
    this.update({ status: 'idle', channelId: null, guildId: null, speaking: {}, peers: {}, error: null });
    if (channelId) {
      await this.deps.api.post(`/voice/leave/${channelId}`, undefined, { keepalive: opts.keepalive }).catch((e) => this.log('leave failed', e));
    }
  }

  private teardown(streamEnd: { message?: string | null; withdraw?: boolean } = {}) {
    this.streams.end(streamEnd);
    this.answer = null;
    this.stopTimers();
    this.remoteLevels.reset();
    this.switcher.reset();
    this.transport?.close();
    this.transport = null;
    this.local.close();
    this.speech.reset();
  }

  setMute(mute: boolean) {
    // Unmuting while deafened undeafens too (as users expect).
    const selfDeaf = mute ? this.snap.selfDeaf : false;
    this.update({ selfMute: mute, selfDeaf });
    this.persist();
    this.applyTransmit();
    this.applyPlayback();
    this.sendState();
  }

  setDeaf(deaf: boolean) {
    this.update({ selfDeaf: deaf });
    this.persist();
    this.applyTransmit();
    this.applyPlayback();
    this.sendState();
  }

  setPushToTalk(held: boolean) {
    if (held === this.snap.pttHeld) return;
    this.update({ pttHeld: held });
    this.applyTransmit();
  }

  private persist() {
    try {
      const st = this.deps.storage ?? globalThis.localStorage;
      st?.setItem('hype.voice.mute', this.snap.selfMute ? '1' : '0');
      st?.setItem('hype.voice.deaf', this.snap.selfDeaf ? '1' : '0');
    } catch {
      /* ignore */
    }
  }

  private sendState() {
    if (this.snap.status === 'connected') {
      this.deps.sendGateway('voice_state_update', { self_mute: this.snap.selfMute, self_deaf: this.snap.selfDeaf });
    }
  }

  /** Settings changed: reopen the microphone if needed, re-apply gain, volumes and output. */
  async applySettings() {
    if (this.snap.status === 'connected') {
      try {
        await this.local.acquire(this.deps.settings());
        await this.transport?.publish('mic', this.local.track);
        await this.switcher.next?.publish('mic', this.local.track);
      } catch (e) {
        this.update({ micError: e instanceof Error ? e.message : String(e) });
      }
    }
    this.applyPlayback();
    this.applyTransmit();
  }

  private applyPlayback() {
    if (this.transport) this.playbackOf(this.transport);
    if (this.switcher.next) this.playbackOf(this.switcher.next);
  }

  private playbackOf(t: VoiceTransport) {
    const s = this.deps.settings();
    t.setPlayback(s.userVolumes, this.snap.selfDeaf, s.outputDeviceId);
  }

  private wantsTransmit(now: number): boolean {
    if (this.snap.selfMute || this.snap.selfDeaf || this.snap.status !== 'connected') return false;
    const s = this.deps.settings();
    if (s.inputMode === 'push_to_talk') return this.snap.pttHeld;
    return this.speech.gateOpen(now);
  }

  private applyTransmit(now = performance.now()) {
    const on = this.wantsTransmit(now);
    this.local.setTransmit(on);
    if (on !== this.snap.transmitting) this.update({ transmitting: on });
  }

  /** A voice state from the gateway (ours or another user's). */
  onVoiceState(vs: VoiceState) {
    const myId = this.deps.myId();
    if (!this.transport || this.snap.status !== 'connected') return;
    if (vs.user_id === myId) {
      // channel_id null: the server dropped us (e.g. our gateway session was away too long
      // before it resumed) — join again. Another channel: we joined elsewhere (another tab).
      if (vs.channel_id !== this.snap.channelId) void this.verifyStillJoined(vs.channel_id === null);
      return;
    }
    this.transport.voiceState(vs);
    for (const t of this.switcher.others()) t.voiceState(vs);
    if (vs.self_mute || vs.self_deaf) this.markSilent(vs.user_id);
  }

  /**
   * The server says we are elsewhere (or nowhere). It may be a late event from before our
   * latest join, so ask before tearing down.
   */
  private async verifyStillJoined(rejoin: boolean) {
    const channelId = this.snap.channelId;
    const myId = this.deps.myId();
    if (!channelId) return;
    try {
      const states = await this.deps.api.get<VoiceState[]>(`/voice/states/${channelId}`);
      if (this.snap.channelId !== channelId) return;
      if (!states.some((s) => s.user_id === myId)) {
        this.log(rejoin ? 'dropped from voice by the server: rejoining' : 'moved out of this voice channel');
        this.teardown();
        this.update({ status: 'idle', channelId: null, guildId: null, speaking: {}, peers: {} });
        if (rejoin && this.rejoins++ < 3) await this.join(channelId).catch((e) => this.log('rejoin failed', e));
      }
    } catch (e) {
      this.log('voice state check failed', e);
    }
  }

  /**
   * The transport gave up (SFU signaling lost, its node dead or restarting): rejoin the
   * channel, naming the SFU node we lost so the server can move the channel off it at once
   * (failover). A few tries with growing pauses (a node cut off without dying is only known
   * gone once its heartbeat is 3 s old); a call that had lasted starts a fresh budget.
   */
  private async transportFailed(transport: VoiceTransport, reason: string) {
    if (this.switcher.failed(transport, reason)) return; // the switch's, not the call's
    const channelId = this.snap.channelId;
    if (this.transport !== transport || !channelId) return;
    const lost = this.nodeOf.get(transport);
    if (Date.now() - this.joinedAt > REJOIN.budgetResetMs) this.rejoins = 0;
    this.log(`voice transport failed (${reason}): rejoining`);
    this.teardown();
    this.update({ status: 'idle', channelId: null, speaking: {}, peers: {} });
    await this.rejoin(channelId, reason, lost);
  }

  private async rejoin(channelId: string, reason: string, sfuFailed?: string) {
    const attempt = this.rejoins++;
    if (attempt >= REJOIN.pausesMs.length) {
      this.update({ status: 'error', error: reason });
      return;
    }
    const seq = this.joinSeq;
    const pause = REJOIN.pausesMs[attempt];
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    if (seq !== this.joinSeq || this.snap.channelId) return; // the user went elsewhere meanwhile
    await this.join(channelId, { sfuFailed }).catch((e) => this.log('rejoin failed', e));
    // A join refused outright (503 while the cluster's Redis is away) leaves status 'error':
    // try again with the next pause.
    if (this.snap.status === 'error' && !this.snap.channelId && seq + 1 === this.joinSeq) {
      this.update({ status: 'idle', error: null });
      await this.rejoin(channelId, reason, sfuFailed);
    }
  }

  /**
   * VOICE_SERVER_UPDATE: our channel was moved to another SFU node (its node drains, or died).
   * Connect there before leaving the old one (the mode switch's make before break: a draining
   * node still carries the audio meanwhile). Clients that noticed a dead node themselves have
   * already rejoined: then the node named is the one we are on and this changes nothing.
   */
  onServerUpdate(d: { channel_id?: string; sfu?: { id?: string } }) {
    const channelId = this.snap.channelId;
    if (!this.transport || this.snap.status !== 'connected' || d.channel_id !== channelId || !channelId) return;
    const current = this.transportNode;
    if (this.transport.mode !== 'sfu' || !d.sfu?.id || !current || d.sfu.id === current) return;
    this.log(`voice channel moved from sfu node ${current} to ${d.sfu.id}: connecting there first`);
    this.switcher.moveNode(current);
  }

  /**
   * `state_lost` from our SFU node: the cluster's Redis restarted empty and our voice state is
   * gone, though nobody removed us. Join again keeping the same stay (`session`): the node finds
   * our grant again and the call never stops. If the channel is now placed elsewhere, move
   * there make before break. Without this the node asks us to rejoin (4012) a few seconds later.
   */
  async onStateLost(d: { channel_id: string; session: string }) {
    const channelId = this.snap.channelId;
    if (!this.transport || this.snap.status !== 'connected' || d.channel_id !== channelId || !channelId) return;
    const current = this.transportNode;
    if (this.transport.mode !== 'sfu' || !current || !d.session || this.repairing) return;
    const seq = this.joinSeq;
    let answer: VoiceJoinAnswer;
    this.repairing = true;
    try {
      answer = await this.postJoin(channelId, undefined, { session: d.session, node: current });
    } catch (e) {
      this.log('voice state not written back yet (the node asks again each second)', e);
      return;
    } finally {
      this.repairing = false;
    }
    if (seq !== this.joinSeq || this.snap.channelId !== channelId) return;
    const node = sfuNodeId(answer);
    this.log(`voice state written back after the cluster lost it (sfu node ${node ?? '?'})`);
    if (node && node !== current) this.switcher.moveNode(current);
  }

  /** A `state_lost` write-back is in flight (the node repeats the frame each second). */
  private repairing = false;

  /** The SFU node the audible transport is connected to. */
  private get transportNode(): string | undefined {
    return this.transport ? this.nodeOf.get(this.transport) : undefined;
  }

  /** The server ended our voice session (access removed): leave without rejoining. */
  private transportEnded(transport: VoiceTransport, reason: string) {
    if (transport !== this.transport && !this.switcher.owns(transport)) return;
    this.log(`voice session ended by the server (${reason})`);
    this.endVoice('You were disconnected from voice: you no longer have access to this channel.');
  }

  /**
   * We lost access to the guild or channel we are in voice in (kicked, guild or channel
   * deleted): the server has ended our voice state, so only the local side is left to close.
   */
  onAccessLost(scope: { guildId?: string; channelId?: string }) {
    if (this.snap.status === 'idle' || !this.snap.channelId) return;
    if (scope.channelId && scope.channelId !== this.snap.channelId) return;
    if (scope.guildId && scope.guildId !== this.snap.guildId) return;
    this.endVoice('You were disconnected from voice: you no longer have access to this channel.');
  }

  private endVoice(message: string) {
    this.rejoins = 0;
    this.joinSeq++;
    this.teardown({ withdraw: false });
    this.update({ status: 'error', channelId: null, guildId: null, speaking: {}, peers: {}, error: message });
  }

  /** Signals that arrive between POST /voice/join and its answer (peers offer at once). */
  private early: { from: string; channelId?: string; payload: unknown }[] = [];

  onSignal(from: string, channelId: string | undefined, payload: unknown) {
    if (!this.transport) {
      if (this.snap.status === 'joining' && this.early.length < 200) this.early.push({ from, channelId, payload });
      else this.signalsDropped.noCall++;
      return;
    }
    if (channelId && channelId !== this.snap.channelId) {
      this.signalsDropped.otherChannel++;
      return;
    }
    // Gateway signals are P2P signals: during a switch the mesh may be the new transport
    // or the one we are leaving.
    const p2p = this.mesh();
    if (p2p) p2p.signal(from, payload);
    else this.signalsDropped.noMesh++;
  }

  /** The mesh among our transports (current, pending or lingering), if any. */
  private mesh(): VoiceTransport | undefined {
    return [this.transport, ...this.switcher.others()].find((t): t is VoiceTransport => t?.mode === 'p2p');
  }

  /** Gateway signals dropped before reaching a mesh, by reason (diagnostics). */
  readonly signalsDropped = { noCall: 0, otherChannel: 0, noMesh: 0 };

  /** For tests and diagnostics: the mesh's negotiation state per peer, and dropped signals. */
  p2pDiagnostics() {
    const p2p = this.mesh();
    return {
      status: this.snap.status,
      mode: this.transport?.mode ?? null,
      signalsDropped: { ...this.signalsDropped },
      mesh: p2p instanceof P2PTransport ? p2p.diagnostics() : null,
    };
  }

  /** A fresh gateway session (not a resume): the server may have dropped us from voice. */
  async onGatewayReady() {
    const myId = this.deps.myId();
    const channelId = this.snap.channelId;
    if (!myId || !channelId || this.snap.status !== 'connected') return;
    const vs = this.deps.voiceState(myId);
    if (vs?.channel_id === channelId) return;
    this.log('voice session lost with the gateway session: rejoining');
    this.teardown();
    this.update({ status: 'idle', channelId: null });
    await this.join(channelId).catch((e) => this.log('rejoin failed', e));
  }

  private markSilent(userId: string) {
    this.speech.silence(userId);
    if (this.snap.speaking[userId]) {
      const speaking = { ...this.snap.speaking };
      delete speaking[userId];
      this.update({ speaking });
    }
  }

  private startTimers() {
    this.stopTimers();
    this.levelTimer = setInterval(() => this.tickLevels(), LEVEL_INTERVAL_MS);
    this.statsTimer = setInterval(() => void this.tickStats(), STATS_INTERVAL_MS);
    this.qualityTimer = setInterval(() => void this.tickQuality(), QUALITY_INTERVAL_MS);
  }

  private stopTimers() {
    if (this.levelTimer) clearInterval(this.levelTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.qualityTimer) clearInterval(this.qualityTimer);
    this.levelTimer = this.statsTimer = this.qualityTimer = null;
  }

  /** Every 100 ms: our level (voice activity gate, meter), remote levels, who is speaking. */
  private tickLevels() {
    const now = performance.now();
    const myId = this.deps.myId();
    const transport = this.transport;
    if (!transport || !myId) return;
    this.remoteLevels.tick(transport, () => this.transport === transport);
    const s = this.deps.settings();
    this.localLevel = this.local.level();
    this.speech.hearLocal(this.localLevel, s.vadThreshold, now);
    this.applyTransmit(now);
    const speaking = this.speech.update(now, {
      myId,
      transmitting: this.snap.transmitting,
      localLevel: this.localLevel,
      vadThreshold: s.vadThreshold,
      remote: this.remoteLevels.levels,
      muted: (uid) => !!this.deps.voiceState(uid)?.self_mute,
    });
    if (!sameSpeakers(speaking, this.snap.speaking)) this.update({ speaking });
  }

  private async tickStats() {
    if (!this.transport) return;
    await this.transport.refreshStats();
    this.refreshPeers();
  }

  /**
   * Every 10 s: what we hear (and, while sharing, what we send) as a quality report, on the
   * SFU's /voice socket in SFU mode and on the gateway in P2P mode (docs/protocol.md).
   */
  async tickQuality(now = performance.now()) {
    const t = this.transport;
    if (t?.qualityStats) {
      if (t !== this.voiceQualityOf) {
        this.voiceQuality.reset();
        this.voiceQualityOf = t;
      }
      const stats = await t.qualityStats().catch(() => null);
      const report = stats && this.transport === t ? this.voiceQuality.build(stats, t.mode, now) : null;
      if (report) {
        if (t.sendQuality) t.sendQuality(report);
        else this.deps.sendGateway('quality', report);
      }
    }
    const link = this.streams.connection;
    if (link?.qualityStats && link.sendQuality) {
      if (link !== this.shareQualityOf) {
        this.shareQuality.reset();
        this.shareQualityOf = link;
      }
      const stats = await link.qualityStats().catch(() => null);
      if (!stats) {
        this.shareQuality.reset();
        return;
      }
      const report = this.shareQuality.build(stats, 'sfu', now);
      if (report?.video_out) link.sendQuality({ ...report, audio_in: [] });
    }
  }

  private refreshPeers() {
    const peers: Record<string, PeerView> = {};
    for (const p of this.transport?.peers() ?? []) peers[p.userId] = { ...p, quality: quality(p.stats) };
    this.update({ peers });
  }

  /** For tests and diagnostics: fresh getStats summaries per remote user. */
  async getStatsSummary(): Promise<Record<string, PeerStats & { connectionState: string; iceRestarts: number; polite?: boolean }>> {
    if (!this.transport) return {};
    await this.transport.refreshStats();
    const out: Record<string, PeerStats & { connectionState: string; iceRestarts: number; polite?: boolean }> = {};
    for (const p of this.transport.peers()) {
      if (p.stats) out[p.userId] = { ...p.stats, connectionState: p.connectionState, iceRestarts: p.iceRestarts, polite: p.polite };
    }
    this.refreshPeers();
    return out;
  }

  /** For tests: inbound audio per user on the transport we play (and its mode). */
  async playedInbound(): Promise<{ mode: VoiceMode | null; inbound: Record<string, InboundAudio> }> {
    const t = this.transport;
    return { mode: t?.mode ?? null, inbound: t ? await t.inbound() : {} };
  }

  /** For tests: the transport object (P2PTransport in p2p mode, SfuTransport in sfu mode). */
  get currentTransport(): VoiceTransport | null {
    return this.transport;
  }
}

/** Pauses before each rejoin after a transport failure (then give up: status 'error'). */
export const REJOIN = { pausesMs: [0, 500, 1500, 3000, 5000], budgetResetMs: 30_000 };
