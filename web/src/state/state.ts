// The client's view of the world, as one immutable value updated by pure functions from
// gateway dispatches (applyDispatch) and by the store's actions.
import { toDispatch, type DispatchPayload, type GatewayDispatch } from '../api/events';
import { compareIds, type Channel, type Guild, type GuildFull, type Id, type Member, type PresenceStatus, type ReadyPayload, type Role, type User, type VoiceState } from '../api/types';
import { deleteMessage, emptyChannel, updateMessage, upsertMessage, type ChannelMessages } from './messages';

export interface GuildEntry extends Guild {
  my_permissions?: string;
}

export interface AppState {
  me: User | null;
  gateway: 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';
  guilds: Record<Id, GuildEntry>;
  guildOrder: Id[];
  channels: Record<Id, Channel>;
  roles: Record<Id, Role[]>;
  /** guild id -> user id -> member */
  members: Record<Id, Record<Id, Member>>;
  presences: Record<Id, PresenceStatus>;
  /** user id -> voice state (a user is in at most one voice channel) */
  voice: Record<Id, VoiceState>;
  messages: Record<Id, ChannelMessages>;
  /** channel id -> user id -> expiry (ms) */
  typing: Record<Id, Record<Id, number>>;
  /** channel id -> newest message id known */
  lastMessage: Record<Id, Id>;
  /** channel id -> newest message id the user has seen */
  lastRead: Record<Id, Id>;
  drafts: Record<Id, string>;
  selectedGuild: Id | null;
  /** guild id -> selected text channel */
  selectedChannel: Record<Id, Id>;
}

export function initialState(): AppState {
  return {
    me: null,
    gateway: 'idle',
    guilds: {},
    guildOrder: [],
    channels: {},
    roles: {},
    members: {},
    presences: {},
    voice: {},
    messages: {},
    typing: {},
    lastMessage: {},
    lastRead: {},
    drafts: {},
    selectedGuild: null,
    selectedChannel: {},
  };
}

export const TYPING_MS = 10_000;

function withGuild(s: AppState, g: GuildFull): AppState {
  const { channels, roles, members, voice_states, ...rest } = g;
  const guild: GuildEntry = { ...(s.guilds[g.id] ?? {}), ...rest };
  const next: AppState = {
    ...s,
    guilds: { ...s.guilds, [g.id]: guild },
    guildOrder: s.guildOrder.includes(g.id) ? s.guildOrder : [...s.guildOrder, g.id],
  };
  if (channels) {
    const chs = { ...next.channels };
    for (const [id, c] of Object.entries(chs)) if (c.guild_id === g.id) delete chs[id];
    for (const c of channels) chs[c.id] = { ...c, guild_id: c.guild_id ?? g.id };
    next.channels = chs;
  }
  if (roles) next.roles = { ...next.roles, [g.id]: roles };
  if (members) {
    const map: Record<Id, Member> = {};
    for (const m of members) map[m.user.id] = { ...m, guild_id: m.guild_id ?? g.id };
    next.members = { ...next.members, [g.id]: map };
  }
  if (voice_states) {
    const v = { ...next.voice };
    for (const [uid, vs] of Object.entries(v)) if (vs.guild_id === g.id) delete v[uid];
    for (const vs of voice_states) if (vs.channel_id) v[vs.user_id] = { ...vs, guild_id: vs.guild_id ?? g.id };
    next.voice = v;
  }
  return next;
}

function withoutGuild(s: AppState, id: Id): AppState {
  const guilds = { ...s.guilds };
  delete guilds[id];
  const channels = { ...s.channels };
  for (const [cid, c] of Object.entries(channels)) if (c.guild_id === id) delete channels[cid];
  const members = { ...s.members };
  delete members[id];
  const voice = { ...s.voice };
  for (const [uid, vs] of Object.entries(voice)) if (vs.guild_id === id) delete voice[uid];
  const guildOrder = s.guildOrder.filter((g) => g !== id);
  return {
    ...s,
    guilds,
    channels,
    members,
    voice,
    guildOrder,
    selectedGuild: s.selectedGuild === id ? (guildOrder[0] ?? null) : s.selectedGuild,
  };
}

function mapChannel(s: AppState, channelId: Id, fn: (c: ChannelMessages) => ChannelMessages): AppState {
  const cur = s.messages[channelId];
  if (!cur) return s; // never opened: history is fetched when it is
  const next = fn(cur);
  return next === cur ? s : { ...s, messages: { ...s.messages, [channelId]: next } };
}

function noteLastMessage(s: AppState, channelId: Id, id: Id): AppState {
  const prev = s.lastMessage[channelId];
  if (prev && compareIds(prev, id) >= 0) return s;
  return { ...s, lastMessage: { ...s.lastMessage, [channelId]: id } };
}

function clearTyping(s: AppState, channelId: Id, userId: Id): AppState {
  const t = s.typing[channelId];
  if (!t || !(userId in t)) return s;
  const nt = { ...t };
  delete nt[userId];
  return { ...s, typing: { ...s.typing, [channelId]: nt } };
}

export function applyReady(s: AppState, d: ReadyPayload): AppState {
  let next: AppState = {
    ...s,
    me: d.user,
    guilds: {},
    guildOrder: [],
    channels: {},
    roles: {},
    members: {},
    voice: {},
    presences: {},
  };
  for (const g of d.guilds ?? []) next = withGuild(next, g);
  const presences: Record<Id, PresenceStatus> = {};
  for (const p of d.presences ?? []) presences[p.user_id] = p.status;
  if (d.user) presences[d.user.id] = presences[d.user.id] ?? 'online';
  next.presences = presences;
  if (!next.selectedGuild || !next.guilds[next.selectedGuild]) next.selectedGuild = next.guildOrder[0] ?? null;
  return next;
}

/** Applies one gateway dispatch by name. Unknown events leave the state as it is. */
export function applyDispatch<T extends string>(s: AppState, t: T, d: DispatchPayload<T>, now = Date.now()): AppState {
  const ev = toDispatch(t, d);
  return ev ? applyEvent(s, ev, now) : s;
}

/** Applies one typed gateway dispatch (see api/events.ts). */
export function applyEvent(s: AppState, ev: GatewayDispatch, now = Date.now()): AppState {
  switch (ev.t) {
    case 'READY':
      return applyReady(s, ev.d);
    case 'GUILD_CREATE':
      return withGuild(s, ev.d);
    case 'GUILD_UPDATE':
      return s.guilds[ev.d.id] ? withGuild(s, ev.d) : s;
    case 'GUILD_DELETE':
      return withoutGuild(s, ev.d.id);
    case 'CHANNEL_CREATE':
    case 'CHANNEL_UPDATE': {
      const c = ev.d;
      return { ...s, channels: { ...s.channels, [c.id]: { ...(s.channels[c.id] ?? {}), ...c } } };
    }
    case 'CHANNEL_DELETE': {
      const channels = { ...s.channels };
      delete channels[ev.d.id];
      return { ...s, channels };
    }
    case 'GUILD_MEMBER_ADD':
    case 'GUILD_MEMBER_UPDATE': {
      const m = ev.d;
      const gm = { ...(s.members[m.guild_id] ?? {}), [m.user.id]: m };
      const next = { ...s, members: { ...s.members, [m.guild_id]: gm } };
      // The server sends no presence for a member who just joined (they joined through the
      // API a moment ago, so they are online); a later PRESENCE_UPDATE corrects it.
      if (ev.t === 'GUILD_MEMBER_ADD' && !s.presences[m.user.id]) next.presences = { ...s.presences, [m.user.id]: 'online' };
      return next;
    }
    case 'GUILD_MEMBER_REMOVE': {
      const gid = ev.d.guild_id;
      const uid = ev.d.user.id;
      if (s.me && uid === s.me.id) return withoutGuild(s, gid);
      const gm = { ...(s.members[gid] ?? {}) };
      delete gm[uid];
      return { ...s, members: { ...s.members, [gid]: gm } };
    }
    case 'GUILD_ROLE_CREATE':
    case 'GUILD_ROLE_UPDATE': {
      const { guild_id, role } = ev.d;
      const list = (s.roles[guild_id] ?? []).filter((r) => r.id !== role.id);
      return { ...s, roles: { ...s.roles, [guild_id]: [...list, role] } };
    }
    case 'GUILD_ROLE_DELETE': {
      const { guild_id, role_id } = ev.d;
      const list = (s.roles[guild_id] ?? []).filter((r) => r.id !== role_id);
      return { ...s, roles: { ...s.roles, [guild_id]: list } };
    }
    case 'MESSAGE_CREATE': {
      // The echo of our own send carries its nonce (docs/protocol.md): that, never the text,
      // pairs it with the pending copy. Matching by text would confirm the wrong one of two
      // identical messages, or take a message sent from another device for ours.
      const m = ev.d;
      let next = mapChannel(s, m.channel_id, (c) => upsertMessage(c, m));
      next = noteLastMessage(next, m.channel_id, m.id);
      if (s.me && m.author_id === s.me.id) next = { ...next, lastRead: { ...next.lastRead, [m.channel_id]: maxId(next.lastRead[m.channel_id], m.id) } };
      return clearTyping(next, m.channel_id, m.author_id);
    }
    case 'MESSAGE_UPDATE': {
      const m = ev.d;
      return mapChannel(s, m.channel_id, (c) => updateMessage(c, m));
    }
    case 'MESSAGE_DELETE': {
      const { id, channel_id } = ev.d;
      return mapChannel(s, channel_id, (c) => deleteMessage(c, id));
    }
    case 'TYPING_START': {
      const d = ev.d;
      if (s.me && d.user_id === s.me.id) return s;
      const cur = s.typing[d.channel_id] ?? {};
      return { ...s, typing: { ...s.typing, [d.channel_id]: { ...cur, [d.user_id]: now + TYPING_MS } } };
    }
    case 'PRESENCE_UPDATE':
      return { ...s, presences: { ...s.presences, [ev.d.user_id]: ev.d.status } };
    case 'VOICE_STATE_UPDATE': {
      const vs = ev.d;
      const voice = { ...s.voice };
      if (vs.channel_id) voice[vs.user_id] = vs;
      else if (!voice[vs.user_id] || !vs.guild_id || voice[vs.user_id].guild_id === vs.guild_id) delete voice[vs.user_id];
      return { ...s, voice };
    }
    case 'RESUMED':
    case 'VOICE_MODE_UPDATE':
    case 'VOICE_SERVER_UPDATE':
    case 'VOICE_SIGNAL':
    case 'STREAM_UPDATE':
      return s; // session and voice plumbing (gateway client, RtcService): no state here
    default:
      return unhandled(ev, s);
  }
}

/** Compiles only while every event of the union has a case above. */
function unhandled(_ev: never, s: AppState): AppState {
  return s;
}

export function maxId(a: Id | undefined, b: Id): Id {
  return a && compareIds(a, b) >= 0 ? a : b;
}

export function isUnread(s: AppState, channelId: Id): boolean {
  const last = s.lastMessage[channelId];
  if (!last) return false;
  const read = s.lastRead[channelId];
  return !read || compareIds(last, read) > 0;
}

export function guildChannels(s: AppState, guildId: Id | null): Channel[] {
  if (!guildId) return [];
  return Object.values(s.channels)
    .filter((c) => c.guild_id === guildId)
    .sort((a, b) => a.position - b.position || compareIds(a.id, b.id));
}

export function voiceMembers(s: AppState, channelId: Id): VoiceState[] {
  return Object.values(s.voice)
    .filter((v) => v.channel_id === channelId)
    .sort((a, b) => compareIds(a.user_id, b.user_id));
}

export function userName(s: AppState, userId: Id, guildId?: Id | null): string {
  if (s.me?.id === userId) return s.me.username;
  if (guildId) {
    const m = s.members[guildId]?.[userId];
    if (m) return m.user.username;
  }
  for (const gm of Object.values(s.members)) if (gm[userId]) return gm[userId].user.username;
  return 'user ' + userId.slice(-4);
}

export { emptyChannel };
