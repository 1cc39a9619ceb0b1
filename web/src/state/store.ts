// The application controller: owns the tokens, the REST client, the gateway session, the
// voice service and the state value, and offers the actions the UI calls. React reads the
// state through useSyncExternalStore (see ui/hooks.ts).
import { ApiClient, type FetchLike } from '../api/http';
import { TokenStore, type KeyValue } from '../api/tokens';
import { toDispatch } from '../api/events';
import type { AuthAnswer, Channel, GuildFull, Id, Invite, Message, User } from '../api/types';
import { compareIds } from '../api/types';
import { GatewayClient, type WebSocketLike } from '../gateway/gateway';
import { RtcService } from '../rtc/rtcService';
import { loadSettings, saveSettings, type VoiceSettings } from '../settings/settings';
import { emptyChannel, mergePage, newestId, oldestId, PAGE_SIZE, updateMessage, deleteMessage as deleteFromChannel, type ChannelMessages } from './messages';
import { Outbox } from './outbox';
import { Stash } from './stash';
import { applyDispatch, applyEvent, initialState, maxId, type AppState } from './state';
import { isBlank } from './text';

const TYPING_SEND_EVERY_MS = 8000;

/** Seams for tests; the page uses the defaults. */
export interface StoreOptions {
  storage?: KeyValue | null;
  fetchFn?: FetchLike;
  createSocket?: (url: string) => WebSocketLike;
  gatewayUrl?: string;
  setTimeout?: (fn: () => void, ms: number) => unknown;
}

export class Store {
  readonly tokens: TokenStore;
  readonly api: ApiClient;
  readonly gateway: GatewayClient;
  readonly rtc: RtcService;
  private readonly stash: Stash;
  private readonly outbox: Outbox;
  /** Whose drafts `state.drafts` holds (they are loaded when the user is known). */
  private draftsOf: Id | null = null;
  private state: AppState = initialState();
  private listeners = new Set<() => void>();
  private settingsValue: VoiceSettings = loadSettings();
  private settingsListeners = new Set<() => void>();
  private lastTypingSent: Record<Id, number> = {};
  private typingTimer: ReturnType<typeof setInterval> | null = null;
  readonly logs: string[] = [];

  private readonly storage: KeyValue | null;

  constructor(opts: StoreOptions = {}) {
    const storage = (this.storage = opts.storage !== undefined ? opts.storage : (globalThis.localStorage ?? null));
    this.tokens = new TokenStore(storage);
    this.api = new ApiClient(this.tokens, opts.fetchFn);
    this.stash = new Stash(storage);
    const loc = globalThis.location;
    const proto = loc?.protocol === 'https:' ? 'wss:' : 'ws:';
    this.gateway = new GatewayClient({
      url: opts.gatewayUrl ?? `${proto}//${loc?.host ?? '127.0.0.1'}/gateway`,
      createSocket: opts.createSocket,
      getToken: async () => {
        await this.tokens.ensureFresh((rt) => this.api.post<AuthAnswer>('/auth/refresh', { refresh_token: rt }, { auth: false }));
        const t = this.tokens.accessToken();
        if (!t) throw new Error('signed out');
        return t;
      },
      forceRefresh: () => this.tokens.refresh((rt) => this.api.post<AuthAnswer>('/auth/refresh', { refresh_token: rt }, { auth: false })),
    });
    this.outbox = new Outbox({
      api: this.api,
      stash: this.stash,
      mapMessages: (cid, fn) => this.mapMessages(cid, fn),
      onConfirmed: (msg) => this.noteOwnMessage(msg),
      log: (m, e) => this.log(m, e),
      setTimeout: opts.setTimeout,
    });
    this.rtc = new RtcService({
      api: this.api,
      sendGateway: (op, d) => this.gateway.send(op, d),
      myId: () => this.state.me?.id ?? this.tokens.user()?.id ?? null,
      settings: () => this.settingsValue,
      voiceState: (uid) => this.state.voice[uid],
      log: (m, e) => this.log(m, e),
    });
    this.gateway.on({
      status: (s) => this.set({ gateway: s }),
      dispatch: (t, d) => this.onDispatch(t, d),
      ready: () => void this.afterReady(),
      resumed: () => this.outbox.reconnected(),
      // A session lost on its own keeps this user's drafts and unsent messages on the device.
      authFailed: () => void this.logout(false, false),
      error: (e) => this.log(`gateway error ${e.code}: ${e.message}`),
    });
    this.tokens.onChange((a) => {
      if (!a && (this.state.me || this.draftsOf)) this.resetAfterLogout();
    });
    const me = this.tokens.user();
    if (me) {
      this.state.me = me;
      this.openUserData(me);
    }
  }

  /** Loads the signed-in user's drafts and unsent messages (once per user). */
  private openUserData(me: User) {
    if (this.draftsOf !== me.id) {
      this.stash.adoptLegacy(me.id);
      this.draftsOf = me.id;
      this.set({ drafts: this.stash.drafts(me.id) });
    }
    this.outbox.open(me);
  }

  // ---- state plumbing ----
  getState = () => this.state;
  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  private setState(next: AppState) {
    if (next === this.state) return;
    this.state = next;
    for (const l of this.listeners) l();
  }
  private set(patch: Partial<AppState>) {
    this.setState({ ...this.state, ...patch });
  }
  private mapMessages(channelId: Id, fn: (c: ChannelMessages) => ChannelMessages) {
    const cur = this.state.messages[channelId] ?? emptyChannel();
    const next = fn(cur);
    if (next !== cur) this.set({ messages: { ...this.state.messages, [channelId]: next } });
  }

  log(msg: string, e?: unknown) {
    const line = `${new Date().toISOString()} ${msg}${e ? ': ' + (e instanceof Error ? e.message : String(e)) : ''}`;
    this.logs.push(line);
    if (this.logs.length > 200) this.logs.shift();
    console.debug('[hype]', line);
  }

  private loadJson<T>(key: string, fallback: T): T {
    try {
      const raw = this.storage?.getItem(key);
      return raw ? (JSON.parse(raw) as T) : fallback;
    } catch {
      return fallback;
    }
  }
  private saveJson(key: string, v: unknown) {
    try {
      this.storage?.setItem(key, JSON.stringify(v));
    } catch {
      /* ignore */
    }
  }

  // ---- settings ----
  get settings(): VoiceSettings {
    return this.settingsValue;
  }
  subscribeSettings = (fn: () => void) => {
    this.settingsListeners.add(fn);
    return () => this.settingsListeners.delete(fn);
  };
  getSettings = () => this.settingsValue;
  updateSettings(patch: Partial<VoiceSettings>) {
    this.settingsValue = { ...this.settingsValue, ...patch };
    saveSettings(this.settingsValue);
    for (const l of this.settingsListeners) l();
    void this.rtc.applySettings();
  }

  // ---- session ----
  get signedIn() {
    return !!this.tokens.current();
  }

  start() {
    if (!this.tokens.current()) return;
    const me = this.tokens.user();
    this.set({ me, lastRead: me ? this.loadJson(`hype.read.${me.id}`, {}) : {} });
    if (me) this.openUserData(me);
    this.gateway.start();
    if (!this.typingTimer) this.typingTimer = setInterval(() => this.expireTyping(), 1000);
  }

  async register(username: string, password: string) {
    const a = await this.api.post<AuthAnswer>('/auth/register', { username, password }, { auth: false });
    this.signedInWith(a);
  }

  async login(username: string, password: string) {
    const a = await this.api.post<AuthAnswer>('/auth/login', { username, password }, { auth: false });
    this.signedInWith(a);
  }

  private signedInWith(a: AuthAnswer) {
    this.tokens.set(a, a.user ?? null);
    this.start();
  }

  /**
   * Signs out. `forget` (an explicit logout) also deletes this user's drafts and unsent
   * messages from the device; a session that ended on its own keeps them for next time.
   */
  async logout(tellServer = true, forget = true) {
    const rt = this.tokens.current()?.refresh_token;
    const uid = this.state.me?.id ?? this.tokens.user()?.id ?? this.draftsOf;
    await this.rtc.leave().catch(() => {});
    this.gateway.stop();
    if (tellServer && rt) await this.api.post('/auth/logout', { refresh_token: rt }, { auth: false }).catch(() => {});
    if (forget && uid) this.stash.forget(uid);
    this.tokens.clear();
    this.resetAfterLogout();
  }

  private resetAfterLogout() {
    this.gateway.stop();
    if (this.typingTimer) clearInterval(this.typingTimer);
    this.typingTimer = null;
    this.outbox.close();
    this.draftsOf = null;
    this.setState(initialState());
  }

  /** Tab closing: leave voice and end the gateway session so peers clean up at once. */
  pageHide() {
    if (this.rtc.getSnapshot().channelId) void this.rtc.leave({ keepalive: true });
    this.gateway.stop();
  }

  // ---- gateway ----
  /** A dispatch off the wire: typed once here (api/events.ts), then applied and routed. */
  private onDispatch(t: string, d: unknown) {
    const ev = toDispatch(t, d);
    if (!ev) return; // an event this client does not know
    this.setState(applyEvent(this.state, ev));
    switch (ev.t) {
      case 'READY': {
        const r = ev.d;
        if (r.user) {
          this.tokens.setUser(r.user);
          this.openUserData(r.user);
          this.set({ lastRead: { ...this.loadJson(`hype.read.${r.user.id}`, {}), ...this.state.lastRead } });
        }
        this.ensureSelection();
        break;
      }
      case 'GUILD_CREATE':
        this.ensureSelection();
        break;
      case 'GUILD_DELETE':
      case 'CHANNEL_DELETE':
      case 'GUILD_MEMBER_REMOVE':
        // Access follows rights: losing the guild or channel we are in voice in ends voice.
        if (ev.t === 'GUILD_DELETE') this.rtc.onAccessLost({ guildId: ev.d.id });
        else if (ev.t === 'CHANNEL_DELETE') this.rtc.onAccessLost({ channelId: ev.d.id });
        else if (ev.d.user?.id === (this.state.me?.id ?? this.tokens.user()?.id)) this.rtc.onAccessLost({ guildId: ev.d.guild_id });
        this.ensureSelection();
        break;
      case 'VOICE_STATE_UPDATE':
        this.rtc.onVoiceState(ev.d);
        break;
      case 'VOICE_SIGNAL':
        this.rtc.onSignal(ev.d.from, ev.d.channel_id, ev.d.payload);
        break;
      case 'VOICE_MODE_UPDATE':
        this.rtc.onModeUpdate(ev.d);
        break;
      case 'VOICE_SERVER_UPDATE':
        this.rtc.onServerUpdate(ev.d);
        break;
      case 'STREAM_UPDATE':
        this.rtc.streams.onStreamUpdate(ev.d);
        break;
      case 'MESSAGE_CREATE':
        this.outbox.echoed(ev.d);
        if (this.isViewing(ev.d.channel_id)) this.markRead(ev.d.channel_id);
        break;
      case 'GUILD_MEMBER_ADD':
        this.reannouncePresence(ev.d.guild_id, ev.d.user?.id);
        break;
    }
  }

  /**
   * Workaround: a user who joins a guild gets members but no presences in GUILD_CREATE, so
   * they would see everyone offline. In small guilds, members re-announce their status when
   * someone joins (once per joiner, with jitter); in larger ones the cost (every member
   * publishing to every member) is not worth it and presence fills in as people change it.
   */
  private reannouncePresence(guildId: Id, userId: Id | undefined) {
    const me = this.state.me;
    if (!me || !userId || userId === me.id) return;
    if (Object.keys(this.state.members[guildId] ?? {}).length > 50) return;
    const status = this.state.presences[me.id];
    if (status !== 'online' && status !== 'idle' && status !== 'dnd') return;
    setTimeout(() => this.gateway.send('presence_update', { status }, true), 200 + Math.random() * 800);
  }

  private async afterReady() {
    // A new session may have missed events: reload the newest page of every open channel.
    for (const channelId of Object.keys(this.state.messages)) {
      if (this.state.channels[channelId]) void this.loadLatest(channelId);
    }
    this.outbox.reconnected();
    await this.rtc.onGatewayReady();
  }

  private ensureSelection() {
    const s = this.state;
    let g = s.selectedGuild;
    if (!g || !s.guilds[g]) g = s.guildOrder[0] ?? null;
    const selectedChannel = { ...s.selectedChannel };
    if (g) {
      const cur = selectedChannel[g];
      if (!cur || !s.channels[cur]) {
        const first = Object.values(s.channels)
          .filter((c) => c.guild_id === g && c.kind === 'text')
          .sort((a, b) => a.position - b.position || compareIds(a.id, b.id))[0];
        if (first) selectedChannel[g] = first.id;
        else delete selectedChannel[g];
      }
    }
    this.set({ selectedGuild: g, selectedChannel });
  }

  private expireTyping() {
    const now = Date.now();
    let changed = false;
    const typing: AppState['typing'] = {};
    for (const [cid, users] of Object.entries(this.state.typing)) {
      const keep: Record<Id, number> = {};
      for (const [uid, exp] of Object.entries(users)) {
        if (exp > now) keep[uid] = exp;
        else changed = true;
      }
      typing[cid] = keep;
    }
    if (changed) this.set({ typing });
  }

  // ---- navigation ----
  selectGuild(id: Id) {
    this.set({ selectedGuild: id });
    this.ensureSelection();
  }

  selectChannel(channelId: Id) {
    const ch = this.state.channels[channelId];
    if (!ch || ch.kind !== 'text') return;
    this.set({ selectedGuild: ch.guild_id, selectedChannel: { ...this.state.selectedChannel, [ch.guild_id]: channelId } });
  }

  currentChannelId(): Id | null {
    const g = this.state.selectedGuild;
    return g ? (this.state.selectedChannel[g] ?? null) : null;
  }

  private isViewing(channelId: Id) {
    return this.currentChannelId() === channelId && typeof document !== 'undefined' && document.visibilityState === 'visible';
  }

  markRead(channelId: Id) {
    const ch = this.state.messages[channelId];
    const newest = maxId(ch ? newestId(ch) : undefined, this.state.lastMessage[channelId] ?? '0');
    if (newest === '0') return;
    const cur = this.state.lastRead[channelId];
    if (cur && compareIds(cur, newest) >= 0) return;
    const lastRead = { ...this.state.lastRead, [channelId]: newest };
    this.set({ lastRead });
    if (this.state.me) this.saveJson(`hype.read.${this.state.me.id}`, lastRead);
  }

  // ---- history ----
  async loadLatest(channelId: Id) {
    const cur = this.state.messages[channelId] ?? emptyChannel();
    this.mapMessages(channelId, (c) => ({ ...c, loading: true }));
    try {
      const page = await this.api.get<Message[]>(`/channels/${channelId}/messages?limit=${PAGE_SIZE}`);
      this.mapMessages(channelId, (c) => {
        const newest = newestId(cur);
        const oldestOfPage = page[page.length - 1]?.id;
        // A full page that does not reach what we hold leaves a gap: start over from it.
        const base = newest && oldestOfPage && page.length >= PAGE_SIZE && compareIds(oldestOfPage, newest) > 0 ? { ...emptyChannel(), items: c.items.filter((m) => m.state) } : c;
        return mergePage(base, page, PAGE_SIZE);
      });
      if (page[0]) {
        const last = maxId(this.state.lastMessage[channelId], page[0].id);
        this.set({ lastMessage: { ...this.state.lastMessage, [channelId]: last } });
        if (!this.state.lastRead[channelId] && this.state.me) {
          // First visit: everything so far counts as read.
          this.set({ lastRead: { ...this.state.lastRead, [channelId]: last } });
        }
      }
    } catch (e) {
      this.log('history load failed', e);
      this.mapMessages(channelId, (c) => ({ ...c, loading: false }));
    }
  }

  async loadOlder(channelId: Id) {
    const cur = this.state.messages[channelId];
    if (!cur || cur.loading || !cur.hasMoreBefore) return;
    const before = oldestId(cur);
    if (!before) return this.loadLatest(channelId);
    this.mapMessages(channelId, (c) => ({ ...c, loading: true }));
    try {
      const page = await this.api.get<Message[]>(`/channels/${channelId}/messages?before=${before}&limit=${PAGE_SIZE}`);
      this.mapMessages(channelId, (c) => mergePage(c, page, PAGE_SIZE, before));
    } catch (e) {
      this.log('history load failed', e);
      this.mapMessages(channelId, (c) => ({ ...c, loading: false }));
    }
  }

  // ---- sending ----
  setDraft(channelId: Id, text: string) {
    const drafts = { ...this.state.drafts };
    if (text) drafts[channelId] = text;
    else delete drafts[channelId];
    this.set({ drafts });
    const uid = this.draftsOf ?? this.state.me?.id;
    if (uid) this.stash.saveDrafts(uid, drafts);
  }

  /**
   * Queues `content` for `channelId`, the channel on screen when the user pressed Enter
   * (never whatever is selected when the request goes out). Returns false when it could not
   * be queued: the caller must then keep the text in the box.
   */
  sendMessage(channelId: Id, content: string): boolean {
    const me = this.state.me ?? this.tokens.user();
    if (!me || isBlank(content)) return false;
    this.outbox.open(me);
    return this.outbox.send(channelId, this.state.channels[channelId]?.guild_id ?? '', content);
  }

  /** Sends the channel's draft and empties the box only once the message is queued. */
  sendDraft(channelId: Id): boolean {
    const text = this.state.drafts[channelId] ?? '';
    if (!this.sendMessage(channelId, text)) return false;
    if (this.state.drafts[channelId] === text) this.setDraft(channelId, '');
    return true;
  }

  retrySend(_channelId: Id, nonce: string) {
    this.outbox.retry(nonce);
  }

  discardFailed(_channelId: Id, nonce: string) {
    this.outbox.discard(nonce);
  }

  /** Unconfirmed sends, oldest first (diagnostics and tests). */
  unsent() {
    return this.outbox.pending();
  }

  private noteOwnMessage(msg: Message) {
    const cid = msg.channel_id;
    this.set({
      lastMessage: { ...this.state.lastMessage, [cid]: maxId(this.state.lastMessage[cid], msg.id) },
      lastRead: { ...this.state.lastRead, [cid]: maxId(this.state.lastRead[cid], msg.id) },
    });
  }

  async editMessage(channelId: Id, id: Id, content: string) {
    const msg = await this.api.patch<Message>(`/channels/${channelId}/messages/${id}`, { content });
    this.mapMessages(channelId, (c) => updateMessage(c, msg));
  }

  async deleteMessage(channelId: Id, id: Id) {
    await this.api.delete(`/channels/${channelId}/messages/${id}`);
    this.mapMessages(channelId, (c) => deleteFromChannel(c, id));
  }

  typing(channelId: Id) {
    const now = Date.now();
    if (now - (this.lastTypingSent[channelId] ?? 0) < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent[channelId] = now;
    this.gateway.send('typing', { channel_id: channelId }, true);
  }

  // ---- guilds ----
  async createGuild(name: string): Promise<GuildFull> {
    const g = await this.api.post<GuildFull>('/guilds', { name });
    return this.openGuild(g);
  }

  async joinInvite(code: string): Promise<GuildFull> {
    const clean = code.trim().replace(/^.*\/(invite\/)?/, '');
    const g = await this.api.post<GuildFull>(`/invites/${encodeURIComponent(clean)}`);
    return this.openGuild(g);
  }

  /**
   * Shows a guild the user just created or joined, as soon as its channels are known: from
   * GUILD_CREATE on the gateway or from GET /guilds/:id, whichever comes first. The dialog
   * that asked for it closes when this resolves, and the page behind a modal dialog takes
   * no input: the sooner it resolves, the shorter the time in which typing goes nowhere.
   */
  private async openGuild(g: GuildFull): Promise<GuildFull> {
    const id = g.id;
    const known = () => !!this.state.guilds[id] && Object.values(this.state.channels).some((c) => c.guild_id === id);
    const details = this.absorbGuild(id);
    if (!known()) {
      let unsubscribe = () => {};
      const seen = new Promise<void>((resolve) => {
        unsubscribe = this.subscribe(() => {
          if (known()) resolve();
        });
      });
      await Promise.race([details, seen]);
      unsubscribe();
    }
    this.set({ selectedGuild: id });
    this.ensureSelection();
    return { ...g, ...(this.state.guilds[id] ?? {}) };
  }

  /** GUILD_CREATE usually arrives over the gateway; fetch the guild anyway so the UI never waits on it. */
  private async absorbGuild(id: Id) {
    try {
      const full = await this.api.get<GuildFull>(`/guilds/${id}`);
      if (!this.state.guilds[id] || !Object.values(this.state.channels).some((c) => c.guild_id === id)) {
        this.setState(applyDispatch(this.state, 'GUILD_CREATE', full));
      } else {
        this.setState(applyDispatch(this.state, 'GUILD_UPDATE', { ...full, members: undefined, voice_states: undefined }));
      }
      if (!full.members || !this.state.members[id]) {
        const members = await this.api.get<GuildFull['members']>(`/guilds/${id}/members?limit=1000`);
        if (members) this.set({ members: { ...this.state.members, [id]: Object.fromEntries(members.map((m) => [m.user.id, m])) } });
      }
    } catch (e) {
      this.log('guild fetch failed', e);
    }
    if (!this.state.selectedGuild) this.ensureSelection();
  }

  createInvite(guildId: Id): Promise<Invite> {
    return this.api.post<Invite>(`/guilds/${guildId}/invites`, {});
  }

  async createChannel(guildId: Id, name: string, kind: 'text' | 'voice'): Promise<Channel> {
    const ch = await this.api.post<Channel>(`/guilds/${guildId}/channels`, { name, kind });
    this.setState(applyDispatch(this.state, 'CHANNEL_CREATE', ch));
    return ch;
  }

  setPresence(status: 'online' | 'idle' | 'dnd') {
    this.gateway.send('presence_update', { status }, true);
    if (this.state.me) this.set({ presences: { ...this.state.presences, [this.state.me.id]: status } });
  }

  me(): User | null {
    return this.state.me;
  }
}
