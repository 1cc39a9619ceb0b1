// The application controller: owns the tokens, the REST client, the gateway session, the
// voice service and the state value, and offers the actions the UI calls. React reads the
// state through useSyncExternalStore (see ui/hooks.ts).
import { ApiClient, ApiError } from '../api/http';
import { TokenStore } from '../api/tokens';
import type { AuthAnswer, Channel, GuildFull, Id, Invite, Message, ReadyPayload, User, VoiceState } from '../api/types';
import { compareIds } from '../api/types';
import { GatewayClient } from '../gateway/gateway';
import { backoffDelay } from '../gateway/backoff';
import { RtcService } from '../rtc/rtcService';
import { loadSettings, saveSettings, type VoiceSettings } from '../settings/settings';
import {
  addPending,
  emptyChannel,
  makeNonce,
  mergePage,
  newestId,
  oldestId,
  PAGE_SIZE,
  removePending,
  setPendingState,
  upsertMessage,
  updateMessage,
  deleteMessage as deleteFromChannel,
  type ChannelMessages,
  type ChatMessage,
} from './messages';
import { applyDispatch, initialState, maxId, type AppState } from './state';
import { isBlank } from './text';

const SEND_ATTEMPTS = 4;
const TYPING_SEND_EVERY_MS = 8000;

interface OutboxEntry {
  channelId: Id;
  nonce: string;
  content: string;
  createdAt: string;
}

export class Store {
  readonly tokens: TokenStore;
  readonly api: ApiClient;
  readonly gateway: GatewayClient;
  readonly rtc: RtcService;
  private state: AppState = initialState();
  private listeners = new Set<() => void>();
  private settingsValue: VoiceSettings = loadSettings();
  private settingsListeners = new Set<() => void>();
  private lastTypingSent: Record<Id, number> = {};
  private typingTimer: ReturnType<typeof setInterval> | null = null;
  readonly logs: string[] = [];

  constructor(private readonly storage: Storage | null = globalThis.localStorage ?? null) {
    this.tokens = new TokenStore(storage);
    this.api = new ApiClient(this.tokens);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.gateway = new GatewayClient({
      url: `${proto}//${location.host}/gateway`,
      getToken: async () => {
        await this.tokens.ensureFresh((rt) => this.api.post<AuthAnswer>('/auth/refresh', { refresh_token: rt }, { auth: false }));
        const t = this.tokens.accessToken();
        if (!t) throw new Error('signed out');
        return t;
      },
      forceRefresh: () => this.tokens.refresh((rt) => this.api.post<AuthAnswer>('/auth/refresh', { refresh_token: rt }, { auth: false })),
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
      authFailed: () => void this.logout(false),
      error: (e) => this.log(`gateway error ${e.code}: ${e.message}`),
    });
    this.tokens.onChange((a) => {
      if (!a && this.state.me) this.resetAfterLogout();
    });
    this.state.drafts = this.loadJson('hype.drafts', {});
    const me = this.tokens.user();
    if (me) this.state.me = me;
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
    this.restoreOutbox();
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

  async logout(tellServer = true) {
    const rt = this.tokens.current()?.refresh_token;
    await this.rtc.leave().catch(() => {});
    this.gateway.stop();
    if (tellServer && rt) await this.api.post('/auth/logout', { refresh_token: rt }, { auth: false }).catch(() => {});
    this.tokens.clear();
    this.resetAfterLogout();
  }

  private resetAfterLogout() {
    this.gateway.stop();
    if (this.typingTimer) clearInterval(this.typingTimer);
    this.typingTimer = null;
    this.setState({ ...initialState(), drafts: this.state.drafts });
  }

  /** Tab closing: leave voice and end the gateway session so peers clean up at once. */
  pageHide() {
    if (this.rtc.getSnapshot().channelId) void this.rtc.leave({ keepalive: true });
    this.gateway.stop();
  }

  // ---- gateway ----
  private onDispatch(t: string, d: any) {
    this.setState(applyDispatch(this.state, t, d));
    switch (t) {
      case 'READY': {
        const r = d as ReadyPayload;
        if (r.user) {
          this.tokens.setUser(r.user);
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
        if (t === 'GUILD_DELETE') this.rtc.onAccessLost({ guildId: d.id });
        else if (t === 'CHANNEL_DELETE') this.rtc.onAccessLost({ channelId: d.id });
        else if (d.user?.id === (this.state.me?.id ?? this.tokens.user()?.id)) this.rtc.onAccessLost({ guildId: d.guild_id });
        this.ensureSelection();
        break;
      case 'VOICE_STATE_UPDATE':
        this.rtc.onVoiceState(d as VoiceState);
        break;
      case 'VOICE_SIGNAL':
        this.rtc.onSignal(d.from, d.channel_id, d.payload);
        break;
      case 'VOICE_MODE_UPDATE':
        this.rtc.onModeUpdate(d);
        break;
      case 'MESSAGE_CREATE':
        if (this.isViewing(d.channel_id)) this.markRead(d.channel_id);
        break;
      case 'GUILD_MEMBER_ADD':
        this.reannouncePresence(d.guild_id, d.user?.id);
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
    this.saveJson('hype.drafts', drafts);
  }

  sendMessage(channelId: Id, content: string) {
    const me = this.state.me;
    const ch = this.state.channels[channelId];
    if (!me || isBlank(content)) return;
    const nonce = makeNonce();
    const pending: ChatMessage = {
      id: `pending-${nonce}`,
      channel_id: channelId,
      guild_id: ch?.guild_id ?? '',
      author_id: me.id,
      author: me,
      content,
      created_at: new Date().toISOString(),
      edited_at: null,
      nonce,
    };
    this.mapMessages(channelId, (c) => addPending(c.loaded ? c : { ...c }, pending));
    this.saveOutbox();
    void this.deliver(channelId, nonce, content, 0);
  }

  retrySend(channelId: Id, nonce: string) {
    const m = this.state.messages[channelId]?.items.find((x) => x.nonce === nonce && x.state);
    if (!m) return;
    this.mapMessages(channelId, (c) => setPendingState(c, nonce, 'sending'));
    void this.deliver(channelId, nonce, m.content, 0);
  }

  discardFailed(channelId: Id, nonce: string) {
    this.mapMessages(channelId, (c) => removePending(c, nonce));
    this.saveOutbox();
  }

  private async deliver(channelId: Id, nonce: string, content: string, attempt: number) {
    try {
      const msg = await this.api.post<Message>(`/channels/${channelId}/messages`, { content, nonce });
      this.mapMessages(channelId, (c) => upsertMessage(c, { ...msg, nonce }));
      this.set({
        lastMessage: { ...this.state.lastMessage, [channelId]: maxId(this.state.lastMessage[channelId], msg.id) },
        lastRead: { ...this.state.lastRead, [channelId]: maxId(this.state.lastRead[channelId], msg.id) },
      });
      this.saveOutbox();
    } catch (e) {
      const retriable = !(e instanceof ApiError) || e.status >= 500 || e.status === 429;
      if (retriable && attempt + 1 < SEND_ATTEMPTS) {
        const wait = e instanceof ApiError && e.retryAfter ? e.retryAfter * 1000 : backoffDelay(attempt, { base: 1000, max: 8000 });
        setTimeout(() => void this.deliver(channelId, nonce, content, attempt + 1), wait);
        return;
      }
      this.log('send failed', e);
      const why = e instanceof Error ? e.message : String(e);
      this.mapMessages(channelId, (c) => setPendingState(c, nonce, 'failed', why));
      this.saveOutbox();
    }
  }

  private saveOutbox() {
    const out: OutboxEntry[] = [];
    for (const [channelId, ch] of Object.entries(this.state.messages)) {
      for (const m of ch.items) if (m.state && m.nonce) out.push({ channelId, nonce: m.nonce, content: m.content, createdAt: m.created_at });
    }
    this.saveJson('hype.outbox', out);
  }

  /** Messages that were not confirmed before the page closed come back as failed, with Retry. */
  private restoreOutbox() {
    const me = this.state.me;
    if (!me) return;
    const entries = this.loadJson<OutboxEntry[]>('hype.outbox', []);
    for (const e of entries) {
      this.mapMessages(e.channelId, (c) => {
        if (c.items.some((m) => m.nonce === e.nonce)) return c;
        const m: ChatMessage = {
          id: `pending-${e.nonce}`,
          channel_id: e.channelId,
          guild_id: '',
          author_id: me.id,
          author: me,
          content: e.content,
          created_at: e.createdAt,
          edited_at: null,
          nonce: e.nonce,
        };
        return setPendingState(addPending(c, m), e.nonce, 'failed');
      });
    }
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
    await this.absorbGuild(g.id);
    return g;
  }

  async joinInvite(code: string): Promise<GuildFull> {
    const clean = code.trim().replace(/^.*\/(invite\/)?/, '');
    const g = await this.api.post<GuildFull>(`/invites/${encodeURIComponent(clean)}`);
    await this.absorbGuild(g.id);
    return g;
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
    this.set({ selectedGuild: id });
    this.ensureSelection();
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
