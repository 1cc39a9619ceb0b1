// Wire types of docs/protocol.md. Ids are snowflakes carried as decimal strings.

export type Id = string;

export interface User {
  id: Id;
  username: string;
}

export interface Guild {
  id: Id;
  name: string;
  owner_id: Id;
  created_at: string;
}

export type ChannelKind = 'text' | 'voice';

export interface Channel {
  id: Id;
  guild_id: Id;
  name: string;
  kind: ChannelKind;
  position: number;
  topic?: string | null;
  user_limit?: number;
  bitrate?: number;
  rtc_region?: string | null; // the SFU region of a voice channel; null = automatic
}

export interface Role {
  id: Id;
  guild_id: Id;
  name: string;
  permissions: string;
  position: number;
}

export interface Member {
  guild_id: Id;
  user: User;
  roles: Id[];
  joined_at: string;
}

export interface Message {
  id: Id;
  channel_id: Id;
  guild_id: Id;
  author_id: Id;
  author: User;
  content: string;
  created_at: string;
  edited_at: string | null;
  nonce?: string;
}

export interface VoiceState {
  guild_id: Id;
  channel_id: Id | null;
  user_id: Id;
  self_mute: boolean;
  self_deaf: boolean;
  /** Live: sharing their screen (POST /voice/stream). */
  self_stream?: boolean;
}

export type PresenceStatus = 'online' | 'idle' | 'dnd' | 'offline';

export interface Presence {
  user_id: Id;
  status: PresenceStatus;
}

export interface GuildFull extends Guild {
  channels?: Channel[];
  roles?: Role[];
  members?: Member[];
  voice_states?: VoiceState[];
  my_permissions?: string;
}

export interface AuthAnswer {
  user?: User;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface Invite {
  code: string;
  guild_id: Id;
  expires_at: string | null;
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface VoiceJoinAnswer {
  mode: 'p2p' | 'sfu';
  channel_id: Id;
  guild_id: Id;
  participants: VoiceState[];
  ice_servers: IceServer[];
  voice_token?: string;
  /** W3C trace context of the server's join span: sent back in /voice identify. */
  traceparent?: string;
  voice_token_expires_at?: string;
  sfu?: unknown;
}

export interface ReadyPayload {
  session_id: string;
  user: User;
  guilds: GuildFull[];
  presences: Presence[];
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export const Permission = {
  VIEW_CHANNEL: 1n << 0n,
  SEND_MESSAGES: 1n << 1n,
  CONNECT: 1n << 2n,
  SPEAK: 1n << 3n,
  STREAM: 1n << 4n,
  MANAGE_CHANNELS: 1n << 5n,
  MANAGE_GUILD: 1n << 6n,
  KICK_MEMBERS: 1n << 7n,
  MANAGE_MESSAGES: 1n << 8n,
  CREATE_INVITE: 1n << 9n,
  ADMINISTRATOR: 1n << 10n,
} as const;

export function hasPermission(perms: string | undefined, bit: bigint): boolean {
  if (perms === undefined) return true; // unknown: let the server decide
  try {
    const p = BigInt(perms);
    return (p & Permission.ADMINISTRATOR) !== 0n || (p & bit) !== 0n;
  } catch {
    return true;
  }
}

/** Numeric order of snowflake strings (they do not sort as text when lengths differ). */
export function compareIds(a: Id, b: Id): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** GET /guilds/:id/analytics (MANAGE_GUILD): voice usage per UTC day, oldest first. */
export interface AnalyticsDay {
  date: string; // "2026-12-05" (UTC)
  voice_seconds: number;
  voice_minutes: number;
  peak_users: number;
  joins: number;
}
export interface GuildAnalytics {
  guild_id: string;
  from: string;
  to: string;
  days: AnalyticsDay[];
  /** Only minutes with joins; `minute` is its start (unix ms). */
  joins_per_minute: { minute: number; joins: number }[];
}
