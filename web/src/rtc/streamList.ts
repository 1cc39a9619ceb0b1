// Pure bookkeeping for screen-share streams: which streams a channel has (reconciled from
// the gateway's STREAM_UPDATE, the voice states' `self_stream` and the SFU's `streams`
// event), and which received track belongs to which streamer (the server offer's `streams`
// entries with `source: "screen"`, and each section's direction in its SDP).
import { compareIds } from '../api/types';
import type { SfuStream } from './sfuSignaling';

/** A stream carrying media now, with its watchers (SFU `streams` event, gateway STREAM_UPDATE). */
export interface LiveStream {
  userId: string;
  viewerIds: string[];
}

/** What the gateway said last about one user's stream (STREAM_UPDATE). */
export interface GatewayStream {
  channelId: string;
  live: boolean;
  viewerIds: string[];
  viewerCount: number;
}

export interface StreamTile {
  userId: string;
  /** Carrying media now: can be watched. */
  live: boolean;
  viewerIds: string[];
  viewerCount: number;
  /** Our own stream. */
  self: boolean;
  watching: boolean;
}

export interface StreamListInput {
  channelId: string | null;
  myId: string | null;
  /** Users in the channel whose voice state has `self_stream` (gone live over REST). */
  goneLive: Iterable<string>;
  /** STREAM_UPDATE per user (latest). */
  gateway: Record<string, GatewayStream>;
  /** The SFU's latest `streams` list on our stream connection; null when none is open. */
  sfu: LiveStream[] | null;
  /** We are sharing (captured and going live). */
  sharing: boolean;
  watching: Iterable<string>;
}

/**
 * One tile per stream in the channel, our own first, then by user id. The SFU's list is the
 * freshest word on what carries media when we have one; the gateway's otherwise. A user
 * who went live but whose media has not arrived yet has a tile that is not `live`.
 */
export function reconcileStreams(i: StreamListInput): StreamTile[] {
  if (!i.channelId) return [];
  const watching = new Set(i.watching);
  const tiles = new Map<string, StreamTile>();
  const tile = (userId: string) => {
    let t = tiles.get(userId);
    if (!t) {
      t = { userId, live: false, viewerIds: [], viewerCount: 0, self: userId === i.myId, watching: watching.has(userId) };
      tiles.set(userId, t);
    }
    return t;
  };
  for (const u of i.goneLive) tile(u);
  if (i.sharing && i.myId) tile(i.myId);
  if (i.sfu) {
    for (const s of i.sfu) {
      const t = tile(s.userId);
      t.live = true;
      t.viewerIds = [...s.viewerIds];
      t.viewerCount = s.viewerIds.length;
    }
  } else {
    for (const [userId, g] of Object.entries(i.gateway)) {
      if (g.channelId !== i.channelId || !g.live) continue;
      const t = tile(userId);
      t.live = true;
      t.viewerIds = [...g.viewerIds];
      t.viewerCount = Math.max(g.viewerCount, g.viewerIds.length);
    }
  }
  // Our own stream stops showing as soon as we stop, whatever the lists still say.
  if (i.myId && !i.sharing) tiles.delete(i.myId);
  return [...tiles.values()].sort((a, b) => (a.self !== b.self ? (a.self ? -1 : 1) : compareIds(a.userId, b.userId)));
}

/** The `streams` event payload: `{streams: [{user_id, viewer_ids}]}`. */
export function parseLiveStreams(d: unknown): LiveStream[] {
  const list = (d as { streams?: unknown })?.streams;
  if (!Array.isArray(list)) return [];
  const out: LiveStream[] = [];
  for (const s of list as { user_id?: unknown; viewer_ids?: unknown }[]) {
    if (s?.user_id === undefined || s.user_id === null) continue;
    const viewers = Array.isArray(s.viewer_ids) ? s.viewer_ids.map(String) : [];
    out.push({ userId: String(s.user_id), viewerIds: viewers });
  }
  return out;
}

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Each m-section's direction by mid (port 0 = rejected counts as inactive). */
export function sectionDirections(sdp: string): Map<string, Direction> {
  const out = new Map<string, Direction>();
  const sections = ('\n' + sdp).split(/\r?\nm=/).slice(1);
  for (const sec of sections) {
    const port = /^\S+ (\d+)/.exec(sec)?.[1];
    const mid = /(?:^|\n)a=mid:(\S+)/.exec(sec)?.[1];
    if (!mid) continue;
    const dir = (/(?:^|\n)a=(sendrecv|sendonly|recvonly|inactive)\b/.exec(sec)?.[1] ?? 'sendrecv') as Direction;
    out.set(mid, port === '0' ? 'inactive' : dir);
  }
  return out;
}

/** A received stream section: whose screen it carries and whether it carries it now. */
export interface StreamSection {
  mid: string;
  userId: string;
  kind: 'video' | 'audio';
  active: boolean;
}

/**
 * The stream sections of a server offer: its `streams` entries with `source: "screen"` and
 * a user id, active unless the offer made them inactive (the streamer stopped, or we
 * unwatched).
 */
export function streamSections(streams: readonly SfuStream[], offerSdp: string): Map<string, StreamSection> {
  const dirs = sectionDirections(offerSdp);
  const out = new Map<string, StreamSection>();
  for (const s of streams) {
    if (s.source !== 'screen' || !s.user_id || (s.kind !== 'video' && s.kind !== 'audio')) continue;
    const mid = String(s.mid);
    const dir = dirs.get(mid);
    out.set(mid, { mid, userId: String(s.user_id), kind: s.kind, active: dir === 'sendonly' || dir === 'sendrecv' });
  }
  return out;
}

export interface ReceivedTrack<T> {
  mid: string | null;
  track: T;
}

/** Each streamer's active video and audio track, by user id. */
export function tracksByUser<T>(sections: ReadonlyMap<string, StreamSection>, received: Iterable<ReceivedTrack<T>>): Map<string, { video?: T; audio?: T }> {
  const out = new Map<string, { video?: T; audio?: T }>();
  for (const r of received) {
    const s = r.mid ? sections.get(r.mid) : undefined;
    if (!s || !s.active) continue;
    const e = out.get(s.userId) ?? {};
    e[s.kind] = r.track;
    out.set(s.userId, e);
  }
  return out;
}
