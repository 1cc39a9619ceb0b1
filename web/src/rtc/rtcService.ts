// The one entry point for voice. The UI calls join/leave/mute/deafen and reads a snapshot;
// the transport behind it is chosen by the join answer's `mode` ('p2p' mesh or 'sfu'),
// so nothing in the UI depends on how audio travels.
import type { ApiClient } from '../api/http';
import type { VoiceJoinAnswer, VoiceState } from '../api/types';
import type { VoiceSettings } from '../settings/settings';
import { LocalAudio } from './localAudio';
import { P2PTransport } from './p2pTransport';
import { SfuTransport } from './sfuTransport';
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
  switchTiming?: Partial<typeof SWITCH_TIMING>;
}

const SPEAK_THRESHOLD = 0.02;
const SPEAK_HOLD_MS = 400;
const LEVEL_INTERVAL_MS = 100;
/** Remote levels come from getStats: polled less often than the local analyser. */
const REMOTE_LEVEL_EVERY = 2;
const STATS_INTERVAL_MS = 2000;
const SWITCH_TIMING = {
  /** How often we compare the old and new transport's inbound audio. */
  pollMs: 100,
  /** We cut over at the latest after this long, audio or not. */
  deadlineMs: 8000,
  /** How long the old transport keeps sending after the cut-over. */
  lingerMs: 4000,
  /** Wait before trying a failed switch again. */
  retryMs: 2000,
};
const SWITCH_MAX_ATTEMPTS = 3;
/** Mode switch to the SFU: enough streams to cut over even if some P2P peers are not heard there. */
const SFU_MIN_STREAMS_FOR_SWITCH = 3;

export class RtcService {
  private transport: VoiceTransport | null = null;
  private local = new LocalAudio();
  private listeners = new Set<() => void>();
  private snap: VoiceSnapshot;
  private levelTimer: ReturnType<typeof setInterval> | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private lastLoud: Record<string, number> = {};
  private joinSeq = 0;
  private rejoins = 0;
  private vadOpenUntil = 0;
  localLevel = 0;

  constructor(private readonly deps: RtcDeps) {
    const st = deps.storage ?? globalThis.localStorage ?? null;
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

  async join(channelId: string): Promise<void> {
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
      answer = await this.postJoin(channelId);
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

  private postJoin(channelId: string): Promise<VoiceJoinAnswer> {
    return this.deps.api.post<VoiceJoinAnswer>(`/voice/join/${channelId}`, { self_mute: this.snap.selfMute, self_deaf: this.snap.selfDeaf });
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
    };
    let transport: VoiceTransport | null;
    if (answer.mode !== 'sfu' && answer.mode !== 'p2p') return null;
    if (this.deps.transportFactory) transport = this.deps.transportFactory(answer.mode, ctx);
    else if (answer.mode === 'sfu') transport = new SfuTransport(ctx);
    else transport = new P2PTransport(ctx);
    return transport;
  }

  // ---- mode switch (make before break) ----
  // The server announces a channel's new mode with VOICE_MODE_UPDATE. We then build the new
  // transport beside the old one (its audio silent), wait until it carries the people we
  // hear on the old one (or a deadline), make it the audible one, and close the old one a
  // little later, so peers that switch after us keep hearing us through it meanwhile.
  private pending: VoiceTransport | null = null;
  private lingering = new Set<VoiceTransport>();
  private switchSeq = 0;
  private get timing() {
    return { ...SWITCH_TIMING, ...this.deps.switchTiming };
  }
  /** Completed mode switches and the wait of the last one (tests and diagnostics). */
  readonly switches: { from: VoiceMode; to: VoiceMode; waitMs: number; reason: string; at: number }[] = [];

  /** VOICE_MODE_UPDATE from the gateway. */
  onModeUpdate(d: { channel_id?: string; mode?: string }) {
    if (!this.transport || this.snap.status !== 'connected' || d.channel_id !== this.snap.channelId) return;
    if (d.mode !== 'p2p' && d.mode !== 'sfu') return;
    const target = d.mode as VoiceMode;
    if (this.pending?.mode === target) return; // already on the way
    if (this.pending) {
      this.pending.close(); // the channel changed its mind during our switch
      this.pending = null;
      this.switchSeq++;
    }
    if (this.transport.mode === target) return;
    void this.switchTo(target);
  }

  private async switchTo(target: VoiceMode) {
    const seq = ++this.switchSeq;
    const joinSeq = this.joinSeq;
    const channelId = this.snap.channelId;
    const myId = this.deps.myId();
    if (!channelId || !myId) return;
    const started = performance.now();
    this.log(`voice mode -> ${target}: connecting before leaving ${this.transport?.mode}`);
    // Joining the channel we are in refreshes the voice token and the participant list; the
    // server keeps our state (no leave, no join event for the others).
    let answer: VoiceJoinAnswer;
    try {
      answer = await this.postJoin(channelId);
    } catch (e) {
      this.log('mode switch: join failed', e);
      return;
    }
    if (seq !== this.switchSeq || joinSeq !== this.joinSeq || !this.transport) return;
    if (answer.mode !== target) return; // changed again; its own update follows
    const next = this.createTransport(myId, answer);
    if (!next) return;
    this.pending = next;
    next.setAudible(false);
    const s = this.deps.settings();
    next.setPlayback(s.userVolumes, this.snap.selfDeaf, s.outputDeviceId);
    next.start();
    const reason = await this.waitForMedia(next, seq);
    if (seq !== this.switchSeq || this.pending !== next) return;
    this.pending = null;
    if (reason === 'deadline' && !next.mediaReady()) {
      // The new transport never came up: stay where we are and try again.
      next.close();
      this.log(`voice mode -> ${target}: new transport not connected after ${this.timing.deadlineMs} ms`);
      this.retrySwitch(target);
      return;
    }
    this.switchAttempts = 0;
    const old = this.transport;
    this.transport = next;
    next.setAudible(true);
    old.setAudible(false);
    this.lingering.add(old);
    setTimeout(() => {
      if (this.lingering.delete(old)) old.close();
    }, this.timing.lingerMs);
    const waitMs = Math.round(performance.now() - started);
    this.switches.push({ from: old.mode, to: next.mode, waitMs, reason, at: Date.now() });
    this.log(`voice mode is ${next.mode} (${reason} after ${waitMs} ms)`);
    this.remoteLevels = {};
    this.update({ mode: next.mode });
    this.applyPlayback();
    this.refreshPeers();
  }

  private switchAttempts = 0;

  /** A failed switch is tried again a little later, a few times, if still wanted. */
  private retrySwitch(target: VoiceMode) {
    if (++this.switchAttempts > SWITCH_MAX_ATTEMPTS) {
      this.log(`voice mode -> ${target}: giving up after ${SWITCH_MAX_ATTEMPTS} attempts`);
      return;
    }
    const joinSeq = this.joinSeq;
    setTimeout(() => {
      if (joinSeq === this.joinSeq && this.transport && !this.pending && this.transport.mode !== target) void this.switchTo(target);
    }, this.timing.retryMs);
  }

  /**
   * Resolves once `next` carries audio from everyone we hear now on the current transport
   * (as many as it can carry), or at the deadline. Returns why it stopped waiting.
   */
  private async waitForMedia(next: VoiceTransport, seq: number): Promise<string> {
    const deadline = performance.now() + this.timing.deadlineMs;
    const flowing = (a: Record<string, InboundAudio>, b: Record<string, InboundAudio>) =>
      new Set(Object.keys(b).filter((u) => (b[u]?.packetsReceived ?? 0) > (a[u]?.packetsReceived ?? 0)));
    let oldPrev = (await this.transport?.inbound().catch(() => ({}))) ?? {};
    let nextPrev = await next.inbound().catch(() => ({}));
    for (;;) {
      await new Promise((r) => setTimeout(r, this.timing.pollMs));
      if (seq !== this.switchSeq || !this.transport) return 'aborted';
      if (performance.now() > deadline) return 'deadline';
      const [o, n] = await Promise.all([this.transport.inbound().catch(() => ({})), next.inbound().catch(() => ({}))]);
      const heardOld = flowing(oldPrev, o);
      const heardNew = flowing(nextPrev, n);
      oldPrev = o;
      nextPrev = n;
      if (!next.mediaReady()) continue;
      const missing = [...heardOld].filter((u) => !heardNew.has(u));
      if (missing.length === 0) return heardOld.size ? 'audio flows' : 'connected';
      // Last-N: the SFU forwards a few speakers; when it carries that many, it is enough.
      if (next.mode === 'sfu' && heardNew.size >= SFU_MIN_STREAMS_FOR_SWITCH) return 'audio flows';
    }
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

  private teardown() {
    this.stopTimers();
    this.remoteLevels = {};
    this.switchSeq++;
    this.pending?.close();
    this.pending = null;
    for (const t of this.lingering) t.close();
    this.lingering.clear();
    this.transport?.close();
    this.transport = null;
    this.local.close();
    this.lastLoud = {};
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
        await this.transport?.replaceLocalTrack(this.local.track);
        await this.pending?.replaceLocalTrack(this.local.track);
      } catch (e) {
        this.update({ micError: e instanceof Error ? e.message : String(e) });
      }
    }
    this.applyPlayback();
    this.applyTransmit();
  }

  private applyPlayback() {
    const s = this.deps.settings();
    this.transport?.setPlayback(s.userVolumes, this.snap.selfDeaf, s.outputDeviceId);
    this.pending?.setPlayback(s.userVolumes, this.snap.selfDeaf, s.outputDeviceId);
  }

  private wantsTransmit(now: number): boolean {
    if (this.snap.selfMute || this.snap.selfDeaf || this.snap.status !== 'connected') return false;
    const s = this.deps.settings();
    if (s.inputMode === 'push_to_talk') return this.snap.pttHeld;
    return now < this.vadOpenUntil;
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
    this.pending?.voiceState(vs);
    for (const t of this.lingering) t.voiceState(vs);
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

  /** The transport gave up (SFU signaling lost): rejoin the channel, a few times at most. */
  private async transportFailed(transport: VoiceTransport, reason: string) {
    if (transport === this.pending) {
      // The transport we were switching to failed: abort the switch, keep the current one.
      this.log(`voice mode -> ${transport.mode}: new transport failed (${reason})`);
      this.switchSeq++;
      this.pending = null;
      transport.close();
      this.retrySwitch(transport.mode);
      return;
    }
    if (this.lingering.delete(transport)) {
      transport.close(); // the one we are leaving: nothing to rejoin
      return;
    }
    const channelId = this.snap.channelId;
    if (this.transport !== transport || !channelId) return;
    this.log(`voice transport failed (${reason}): rejoining`);
    this.teardown();
    this.update({ status: 'idle', channelId: null, speaking: {}, peers: {} });
    if (this.rejoins++ < 3) await this.join(channelId).catch((e) => this.log('rejoin failed', e));
    else this.update({ status: 'error', error: reason });
  }

  /** The server ended our voice session (access removed): leave without rejoining. */
  private transportEnded(transport: VoiceTransport, reason: string) {
    if (transport !== this.transport && transport !== this.pending && !this.lingering.has(transport)) return;
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
    this.teardown();
    this.update({ status: 'error', channelId: null, guildId: null, speaking: {}, peers: {}, error: message });
  }

  /** Signals that arrive between POST /voice/join and its answer (peers offer at once). */
  private early: { from: string; channelId?: string; payload: unknown }[] = [];

  onSignal(from: string, channelId: string | undefined, payload: unknown) {
    if (!this.transport) {
      if (this.snap.status === 'joining' && this.early.length < 200) this.early.push({ from, channelId, payload });
      return;
    }
    if (channelId && channelId !== this.snap.channelId) return;
    // Gateway signals are P2P signals: during a switch the mesh may be the new transport
    // or the one we are leaving.
    const p2p = [this.transport, this.pending, ...this.lingering].find((t) => t?.mode === 'p2p');
    p2p?.signal(from, payload);
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
    delete this.lastLoud[userId];
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
  }

  private stopTimers() {
    if (this.levelTimer) clearInterval(this.levelTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.levelTimer = this.statsTimer = null;
  }

  private ticks = 0;
  private remoteLevels: Record<string, number> = {};
  private levelsInFlight = false;

  private tickLevels() {
    const now = performance.now();
    const myId = this.deps.myId();
    const transport = this.transport;
    if (!transport || !myId) return;
    if (++this.ticks % REMOTE_LEVEL_EVERY === 0 && !this.levelsInFlight) {
      this.levelsInFlight = true;
      transport
        .levels()
        .then((l) => {
          if (this.transport === transport) this.remoteLevels = l;
        })
        .finally(() => (this.levelsInFlight = false));
    }
    const s = this.deps.settings();
    this.localLevel = this.local.level();
    if (this.localLevel >= s.vadThreshold) this.vadOpenUntil = now + SPEAK_HOLD_MS;
    this.applyTransmit(now);
    const levels = this.remoteLevels;
    if (this.snap.transmitting && this.localLevel >= Math.max(s.vadThreshold, 0.005)) this.lastLoud[myId] = now;
    for (const [uid, lvl] of Object.entries(levels)) {
      const vs = this.deps.voiceState(uid);
      if (lvl >= SPEAK_THRESHOLD && !vs?.self_mute) this.lastLoud[uid] = now;
    }
    const speaking: Record<string, boolean> = {};
    for (const [uid, t] of Object.entries(this.lastLoud)) {
      if (now - t < SPEAK_HOLD_MS && (uid === myId ? this.snap.transmitting : uid in levels)) speaking[uid] = true;
    }
    if (!sameKeys(speaking, this.snap.speaking)) this.update({ speaking });
  }

  private async tickStats() {
    if (!this.transport) return;
    await this.transport.refreshStats();
    this.refreshPeers();
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

function sameKeys(a: Record<string, boolean>, b: Record<string, boolean>) {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => b[k]);
}
