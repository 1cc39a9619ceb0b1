// Outgoing messages from Enter until the server has accepted them. Each send is queued
// (memory and localStorage, see stash.ts) before the composer lets go of the text, shown as
// a pending message in the channel it was addressed to, and leaves the queue only when the
// REST answer or the gateway echo carrying its nonce confirms it, or when the user discards
// it. Failures of the network or the server retry with backoff, then show "Not sent" and
// are sent again by themselves once the gateway reconnects; refusals (4xx) wait for Retry.
import { ApiError, type ApiClient } from '../api/http';
import type { Id, Message, User } from '../api/types';
import { backoffDelay } from '../gateway/backoff';
import { addPending, makeNonce, removePending, setPendingState, upsertMessage, type ChannelMessages, type ChatMessage } from './messages';
import type { OutboxEntry, Stash } from './stash';
import { isBlank } from './text';

export const SEND_ATTEMPTS = 4;

export interface OutboxDeps {
  api: ApiClient;
  stash: Stash;
  /** Applies a change to one channel's message list in the app state. */
  mapMessages: (channelId: Id, fn: (c: ChannelMessages) => ChannelMessages) => void;
  /** The server accepted a message (after the list was updated). */
  onConfirmed: (msg: Message) => void;
  log: (msg: string, e?: unknown) => void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
}

export class Outbox {
  private entries: OutboxEntry[] = [];
  private userId: Id | null = null;
  private author: User | null = null;
  // Bumped when the user signs out: answers of the old session must not touch the new state.
  private generation = 0;
  private readonly later: (fn: () => void, ms: number) => unknown;

  constructor(private readonly deps: OutboxDeps) {
    this.later = deps.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
  }

  /**
   * Takes the user's queue from storage and shows it. Entries of an earlier page may or may
   * not have reached the server (the answer was lost with the page): they come back as
   * failed, for the user to retry or discard rather than risking a duplicate.
   */
  open(user: User) {
    if (this.userId === user.id) {
      this.author = user;
      return;
    }
    this.userId = user.id;
    this.author = user;
    this.entries = this.deps.stash.outbox(user.id).map((e) => (e.state === 'sending' ? { ...e, state: 'failed' as const, autoRetry: false } : e));
    this.persist();
    for (const e of this.entries) this.show(e);
  }

  /** Sign-out: forget the in-memory queue (the stash decides what stays on disk). */
  close() {
    this.generation++;
    this.entries = [];
    this.userId = null;
    this.author = null;
  }

  has(nonce: string) {
    return this.entries.some((e) => e.nonce === nonce);
  }

  pending(): readonly OutboxEntry[] {
    return this.entries;
  }

  /**
   * Queues a message for `channelId` (the channel on screen when the user pressed Enter).
   * Returns false when it cannot be queued (nobody signed in): the caller keeps the text.
   */
  send(channelId: Id, guildId: Id, content: string): boolean {
    if (!this.userId || !this.author || isBlank(content)) return false;
    const e: OutboxEntry = { channelId, guildId, nonce: makeNonce(), content, createdAt: new Date().toISOString(), state: 'sending' };
    this.entries.push(e);
    this.persist();
    this.show(e);
    void this.deliver(e.nonce, 0);
    return true;
  }

  retry(nonce: string) {
    const e = this.entries.find((x) => x.nonce === nonce);
    if (!e || e.state === 'sending') return; // already on its way: a second POST would duplicate it
    this.update(e, { state: 'sending', error: undefined, autoRetry: undefined });
    void this.deliver(nonce, 0);
  }

  discard(nonce: string) {
    const e = this.entries.find((x) => x.nonce === nonce);
    this.entries = this.entries.filter((x) => x.nonce !== nonce);
    this.persist();
    if (e) this.deps.mapMessages(e.channelId, (c) => removePending(c, nonce));
  }

  /** The connection is back: what failed for want of it goes again. */
  reconnected() {
    for (const e of [...this.entries]) if (e.state === 'failed' && e.autoRetry) this.retry(e.nonce);
  }

  /** The gateway echo (MESSAGE_CREATE with our nonce) confirmed a send before its REST answer. */
  echoed(msg: Message) {
    if (!msg.nonce || !this.has(msg.nonce)) return;
    this.confirm(msg, msg.nonce);
  }

  private async deliver(nonce: string, attempt: number) {
    const gen = this.generation;
    const e = this.entries.find((x) => x.nonce === nonce);
    if (!e) return; // confirmed by the echo or discarded meanwhile
    try {
      const msg = await this.deps.api.post<Message>(`/channels/${e.channelId}/messages`, { content: e.content, nonce });
      if (gen !== this.generation) return;
      this.confirm(msg, nonce);
    } catch (err) {
      if (gen !== this.generation || !this.has(nonce)) return;
      const retriable = !(err instanceof ApiError) || err.status >= 500 || err.status === 429;
      if (retriable && attempt + 1 < SEND_ATTEMPTS) {
        const wait = err instanceof ApiError && err.retryAfter ? err.retryAfter * 1000 : backoffDelay(attempt, { base: 1000, max: 8000 });
        this.later(() => {
          if (gen === this.generation) void this.deliver(nonce, attempt + 1);
        }, wait);
        return;
      }
      this.deps.log('send failed', err);
      const cur = this.entries.find((x) => x.nonce === nonce);
      if (cur) this.update(cur, { state: 'failed', autoRetry: retriable, error: err instanceof Error ? err.message : String(err) });
    }
  }

  private confirm(msg: Message, nonce: string) {
    const e = this.entries.find((x) => x.nonce === nonce);
    this.entries = this.entries.filter((x) => x.nonce !== nonce);
    this.persist();
    const channelId = msg.channel_id || e?.channelId;
    if (!channelId) return;
    this.deps.mapMessages(channelId, (c) => upsertMessage(c, { ...msg, nonce }));
    this.deps.onConfirmed({ ...msg, channel_id: channelId });
  }

  private update(e: OutboxEntry, patch: Partial<OutboxEntry>) {
    Object.assign(e, patch);
    this.persist();
    this.deps.mapMessages(e.channelId, (c) => setPendingState(c, e.nonce, e.state, e.error));
  }

  /** Puts the entry on screen as a pending message, unless it is already there. */
  private show(e: OutboxEntry) {
    const author = this.author;
    if (!author) return;
    const m: ChatMessage = {
      id: `pending-${e.nonce}`,
      channel_id: e.channelId,
      guild_id: e.guildId,
      author_id: author.id,
      author,
      content: e.content,
      created_at: e.createdAt,
      edited_at: null,
      nonce: e.nonce,
    };
    this.deps.mapMessages(e.channelId, (c) => {
      if (c.items.some((x) => x.nonce === e.nonce)) return c;
      const added = addPending(c, m);
      return e.state === 'failed' ? setPendingState(added, e.nonce, 'failed', e.error) : added;
    });
  }

  private persist() {
    if (this.userId) this.deps.stash.saveOutbox(this.userId, this.entries);
  }
}
