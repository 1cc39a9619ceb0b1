// Gateway dispatches (docs/protocol.md, "Gateway", the dispatch table) as one discriminated
// union, so a `switch (ev.t)` narrows `ev.d` to that event's payload and a payload the
// client reads wrongly fails to compile instead of reading `undefined` at run time.
// Payloads are trusted as the server sends them (no run-time validation, as before).
import type { Channel, GuildFull, Id, Member, Message, Presence, ReadyPayload, Role, User, VoiceState } from './types';

/** Event name -> payload, one row per row of the dispatch table. */
export interface GatewayEvents {
  READY: ReadyPayload;
  RESUMED: { session_id: string; replayed?: number };
  /** The guild with everything a new member needs; the server adds presences. */
  GUILD_CREATE: GuildFull & { presences?: Presence[] };
  GUILD_UPDATE: GuildFull;
  GUILD_DELETE: { id: Id };
  CHANNEL_CREATE: Channel;
  CHANNEL_UPDATE: Channel;
  /** The server sends the whole channel; the client needs only its id. */
  CHANNEL_DELETE: Pick<Channel, 'id' | 'guild_id'> & Partial<Channel>;
  GUILD_MEMBER_ADD: Member;
  GUILD_MEMBER_UPDATE: Member;
  GUILD_MEMBER_REMOVE: { guild_id: Id; user: User };
  GUILD_ROLE_CREATE: { guild_id: Id; role: Role };
  GUILD_ROLE_UPDATE: { guild_id: Id; role: Role };
  GUILD_ROLE_DELETE: { guild_id: Id; role_id: Id };
  MESSAGE_CREATE: Message;
  MESSAGE_UPDATE: Message;
  MESSAGE_DELETE: { id: Id; channel_id: Id; guild_id: Id };
  /** `timestamp` is informative: the client times typing out with its own clock. */
  TYPING_START: { channel_id: Id; guild_id: Id; user_id: Id; timestamp?: number };
  PRESENCE_UPDATE: Presence;
  VOICE_STATE_UPDATE: VoiceState;
  VOICE_MODE_UPDATE: { guild_id: Id; channel_id: Id; mode: 'p2p' | 'sfu' };
  VOICE_SERVER_UPDATE: { guild_id: Id; channel_id: Id; sfu: { id: string; url: string; region: string } };
  VOICE_SIGNAL: { from: Id; channel_id?: Id; payload: unknown };
  STREAM_UPDATE: { guild_id: Id; channel_id: Id; user_id: Id; live: boolean; viewer_ids: Id[]; viewer_count: number };
}

export type GatewayEventName = keyof GatewayEvents;

/** One dispatch: `{t, d}` with `d` typed by `t`. */
export type GatewayDispatch = { [K in GatewayEventName]: { t: K; d: GatewayEvents[K] } }[GatewayEventName];

/** The payload of event `T`; `unknown` for a name this client does not know. */
export type DispatchPayload<T extends string> = T extends GatewayEventName ? GatewayEvents[T] : unknown;

// A run-time list of the names, checked against the interface so neither can miss one.
const NAMES: Record<GatewayEventName, true> = {
  READY: true,
  RESUMED: true,
  GUILD_CREATE: true,
  GUILD_UPDATE: true,
  GUILD_DELETE: true,
  CHANNEL_CREATE: true,
  CHANNEL_UPDATE: true,
  CHANNEL_DELETE: true,
  GUILD_MEMBER_ADD: true,
  GUILD_MEMBER_UPDATE: true,
  GUILD_MEMBER_REMOVE: true,
  GUILD_ROLE_CREATE: true,
  GUILD_ROLE_UPDATE: true,
  GUILD_ROLE_DELETE: true,
  MESSAGE_CREATE: true,
  MESSAGE_UPDATE: true,
  MESSAGE_DELETE: true,
  TYPING_START: true,
  PRESENCE_UPDATE: true,
  VOICE_STATE_UPDATE: true,
  VOICE_MODE_UPDATE: true,
  VOICE_SERVER_UPDATE: true,
  VOICE_SIGNAL: true,
  STREAM_UPDATE: true,
};

export function isGatewayEvent(t: string): t is GatewayEventName {
  return Object.prototype.hasOwnProperty.call(NAMES, t);
}

/**
 * A dispatch as it came off the wire, typed by its name. Null for events this client does
 * not know (a newer server may send more): callers ignore those, as before.
 */
export function toDispatch(t: string, d: unknown): GatewayDispatch | null {
  return isGatewayEvent(t) ? ({ t, d } as GatewayDispatch) : null;
}
