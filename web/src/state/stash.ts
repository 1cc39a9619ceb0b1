// What the user typed and the server has not accepted yet, kept in localStorage so a reload,
// a crash or a lost session does not lose it: drafts per channel and the outbox of sends
// not yet confirmed. Keys carry the user id, so another account signed in on the same
// browser never sees them. An explicit logout deletes them; a session lost on its own (the
// refresh token refused) keeps them for the same user's next sign-in.
import type { KeyValue } from '../api/tokens';
import type { Id } from '../api/types';

export interface OutboxEntry {
  channelId: Id;
  guildId: Id;
  nonce: string;
  content: string;
  createdAt: string;
  /** 'failed' waits for the user (or a reconnect, when `autoRetry`); 'sending' is in flight. */
  state: 'sending' | 'failed';
  /** The last failure was the network or the server (not a refusal): retry on reconnect. */
  autoRetry?: boolean;
  error?: string;
}

// Before keys were per user (one browser, one account assumed).
const LEGACY_DRAFTS = 'hype.drafts';
const LEGACY_OUTBOX = 'hype.outbox';

export class Stash {
  constructor(private readonly storage: KeyValue | null) {}

  drafts(userId: Id): Record<Id, string> {
    return this.read(`hype.drafts.${userId}`, {});
  }

  saveDrafts(userId: Id, drafts: Record<Id, string>) {
    if (Object.keys(drafts).length) this.write(`hype.drafts.${userId}`, drafts);
    else this.remove(`hype.drafts.${userId}`);
  }

  outbox(userId: Id): OutboxEntry[] {
    const list = this.read<OutboxEntry[]>(`hype.outbox.${userId}`, []);
    return Array.isArray(list) ? list.filter((e) => e && typeof e.nonce === 'string' && typeof e.content === 'string' && typeof e.channelId === 'string') : [];
  }

  saveOutbox(userId: Id, entries: OutboxEntry[]) {
    if (entries.length) this.write(`hype.outbox.${userId}`, entries);
    else this.remove(`hype.outbox.${userId}`);
  }

  /** Explicit logout: nothing of this user's unsent text stays on the device. */
  forget(userId: Id) {
    this.remove(`hype.drafts.${userId}`);
    this.remove(`hype.outbox.${userId}`);
  }

  /** Moves unkeyed data of an older client version to the first user who signs in. */
  adoptLegacy(userId: Id) {
    const drafts = this.read<Record<Id, string> | null>(LEGACY_DRAFTS, null);
    if (drafts && typeof drafts === 'object') this.saveDrafts(userId, { ...drafts, ...this.drafts(userId) });
    const old = this.read<Partial<OutboxEntry>[] | null>(LEGACY_OUTBOX, null);
    if (Array.isArray(old) && old.length) {
      const mine = this.outbox(userId);
      for (const e of old) {
        if (!e || typeof e.nonce !== 'string' || typeof e.content !== 'string' || typeof e.channelId !== 'string') continue;
        if (mine.some((m) => m.nonce === e.nonce)) continue;
        mine.push({ channelId: e.channelId, guildId: e.guildId ?? '', nonce: e.nonce, content: e.content, createdAt: e.createdAt ?? new Date().toISOString(), state: 'failed' });
      }
      this.saveOutbox(userId, mine);
    }
    this.remove(LEGACY_DRAFTS);
    this.remove(LEGACY_OUTBOX);
  }

  private read<T>(key: string, fallback: T): T {
    try {
      const raw = this.storage?.getItem(key);
      return raw ? (JSON.parse(raw) as T) : fallback;
    } catch {
      return fallback;
    }
  }

  private write(key: string, v: unknown) {
    try {
      this.storage?.setItem(key, JSON.stringify(v));
    } catch {
      /* storage full or blocked: the in-memory copy still holds it for this page */
    }
  }

  private remove(key: string) {
    try {
      this.storage?.removeItem(key);
    } catch {
      /* blocked storage */
    }
  }
}
