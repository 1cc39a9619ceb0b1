// The message list of one channel, as pure functions over an immutable value: pages of
// history merged in (before-cursor pagination), optimistic sends keyed by nonce, and live
// create/update/delete events, in whatever order the REST answer and the gateway arrive.
import { compareIds, type Id, type Message } from '../api/types';

export type SendState = 'sending' | 'failed';

export interface ChatMessage extends Message {
  /** Present only on messages not yet confirmed by the server. */
  state?: SendState;
  nonce?: string;
  /** Why the last attempt failed (shown next to Retry). */
  error?: string;
}

export interface ChannelMessages {
  /** Confirmed messages by id ascending, then pending ones in the order they were typed. */
  items: ChatMessage[];
  /** Older history may exist on the server. */
  hasMoreBefore: boolean;
  /** At least one page has been fetched. */
  loaded: boolean;
  loading: boolean;
}

export const PAGE_SIZE = 50;

export function emptyChannel(): ChannelMessages {
  return { items: [], hasMoreBefore: true, loaded: false, loading: false };
}

function isPending(m: ChatMessage) {
  return m.state !== undefined;
}

function sortConfirmed(list: ChatMessage[]): ChatMessage[] {
  return list.sort((a, b) => compareIds(a.id, b.id));
}

function split(items: ChatMessage[]) {
  const confirmed: ChatMessage[] = [];
  const pending: ChatMessage[] = [];
  for (const m of items) (isPending(m) ? pending : confirmed).push(m);
  return { confirmed, pending };
}

/** Oldest confirmed message id: the `before` cursor for the next page. */
export function oldestId(ch: ChannelMessages): Id | undefined {
  for (const m of ch.items) if (!isPending(m)) return m.id;
  return undefined;
}

export function newestId(ch: ChannelMessages): Id | undefined {
  for (let i = ch.items.length - 1; i >= 0; i--) if (!isPending(ch.items[i])) return ch.items[i].id;
  return undefined;
}

/**
 * Merges a page from GET /channels/:id/messages (newest first) into the list. Duplicates
 * (live events that raced the fetch) are replaced by the page's copy unless already edited
 * later. A short page means the start of history.
 */
export function mergePage(ch: ChannelMessages, page: Message[], limit = PAGE_SIZE, before?: Id): ChannelMessages {
  const { confirmed, pending } = split(ch.items);
  const byId = new Map<Id, ChatMessage>();
  for (const m of page) byId.set(m.id, m);
  for (const m of confirmed) {
    const existing = byId.get(m.id);
    if (!existing || isNewer(m, existing)) byId.set(m.id, m);
  }
  // A confirmed copy of a pending message (same nonce) wins over the pending one.
  const nonces = new Set(page.map((m) => m.nonce).filter(Boolean));
  const stillPending = pending.filter((p) => !p.nonce || !nonces.has(p.nonce));
  const items = [...sortConfirmed([...byId.values()]), ...stillPending];
  const hasMoreBefore = before === undefined && ch.loaded ? ch.hasMoreBefore : page.length >= limit;
  return { items, hasMoreBefore, loaded: true, loading: false };
}

function isNewer(a: ChatMessage, b: ChatMessage) {
  return (a.edited_at ?? '') > (b.edited_at ?? '');
}

export function addPending(ch: ChannelMessages, msg: ChatMessage): ChannelMessages {
  return { ...ch, items: [...ch.items, { ...msg, state: 'sending' }] };
}

export function setPendingState(ch: ChannelMessages, nonce: string, state: SendState, error?: string): ChannelMessages {
  let changed = false;
  const items = ch.items.map((m) => {
    if (m.nonce === nonce && isPending(m) && (m.state !== state || m.error !== error)) {
      changed = true;
      return { ...m, state, error };
    }
    return m;
  });
  return changed ? { ...ch, items } : ch;
}

export function removePending(ch: ChannelMessages, nonce: string): ChannelMessages {
  const items = ch.items.filter((m) => !(isPending(m) && m.nonce === nonce));
  return items.length === ch.items.length ? ch : { ...ch, items };
}

/**
 * A confirmed message arrived (REST answer or MESSAGE_CREATE). It replaces the pending copy
 * with the same nonce, or an older copy with the same id, else it is inserted in id order.
 */
export function upsertMessage(ch: ChannelMessages, msg: Message): ChannelMessages {
  const { confirmed, pending } = split(ch.items);
  const stillPending = msg.nonce ? pending.filter((p) => p.nonce !== msg.nonce) : pending;
  const clean: ChatMessage = { ...msg };
  delete clean.state;
  const idx = confirmed.findIndex((m) => m.id === msg.id);
  if (idx >= 0) {
    if (isNewer(confirmed[idx], clean)) {
      return stillPending.length === pending.length ? ch : { ...ch, items: [...confirmed, ...stillPending] };
    }
    const next = confirmed.slice();
    next[idx] = { ...confirmed[idx], ...clean };
    return { ...ch, items: [...next, ...stillPending] };
  }
  // Live messages older than everything loaded belong to history we have not fetched yet,
  // except the confirmed copy of one of our pending sends: dropping it would also drop the
  // pending copy, and the message would vanish from the screen.
  const ours = stillPending.length !== pending.length;
  const oldest = confirmed[0];
  if (!ours && ch.hasMoreBefore && oldest && compareIds(msg.id, oldest.id) < 0) {
    return stillPending.length === pending.length ? ch : { ...ch, items: [...confirmed, ...stillPending] };
  }
  let pos = confirmed.length;
  while (pos > 0 && compareIds(confirmed[pos - 1].id, msg.id) > 0) pos--;
  const next = confirmed.slice();
  next.splice(pos, 0, clean);
  return { ...ch, items: [...next, ...stillPending] };
}

/** MESSAGE_UPDATE: only messages we hold are changed. */
export function updateMessage(ch: ChannelMessages, msg: Partial<Message> & { id: Id }): ChannelMessages {
  const idx = ch.items.findIndex((m) => m.id === msg.id && !isPending(m));
  if (idx < 0) return ch;
  const items = ch.items.slice();
  items[idx] = { ...items[idx], ...msg } as ChatMessage;
  return { ...ch, items };
}

export function deleteMessage(ch: ChannelMessages, id: Id): ChannelMessages {
  const items = ch.items.filter((m) => isPending(m) || m.id !== id);
  return items.length === ch.items.length ? ch : { ...ch, items };
}

let nonceCounter = 0;
/** Nonces are unique per client: time plus a counter plus randomness. */
export function makeNonce(now = Date.now()): string {
  nonceCounter = (nonceCounter + 1) % 1_000_000;
  return `${now.toString(36)}${nonceCounter.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
