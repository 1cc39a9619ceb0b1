import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { addPending, deleteMessage, emptyChannel, makeNonce, mergePage, newestId, oldestId, removePending, setPendingState, updateMessage, upsertMessage, type ChatMessage } from './messages';

const user = { id: '10', username: 'ann' };
function msg(id: number, extra: Partial<Message> = {}): Message {
  return { id: String(id), channel_id: 'c', guild_id: 'g', author_id: '10', author: user, content: `m${id}`, created_at: new Date(1_700_000_000_000 + id * 1000).toISOString(), edited_at: null, ...extra };
}
/** A page as the API returns it: newest first. */
function page(from: number, to: number): Message[] {
  const out: Message[] = [];
  for (let i = to; i >= from; i--) out.push(msg(i));
  return out;
}
function pending(nonce: string, content = 'hello'): ChatMessage {
  return { ...msg(0), id: `pending-${nonce}`, nonce, content };
}
const ids = (c: { items: ChatMessage[] }) => c.items.map((m) => m.id);

describe('history pagination', () => {
  it('first page: ascending order and more history when the page is full', () => {
    const c = mergePage(emptyChannel(), page(51, 100), 50);
    expect(ids(c)[0]).toBe('51');
    expect(ids(c).at(-1)).toBe('100');
    expect(c.hasMoreBefore).toBe(true);
    expect(c.loaded).toBe(true);
    expect(oldestId(c)).toBe('51');
    expect(newestId(c)).toBe('100');
  });

  it('older page merges in front; a short page ends history', () => {
    let c = mergePage(emptyChannel(), page(51, 100), 50);
    c = mergePage(c, page(30, 50), 50, '51');
    expect(c.items).toHaveLength(71);
    expect(ids(c)[0]).toBe('30');
    expect(c.hasMoreBefore).toBe(false);
  });

  it('deduplicates overlapping pages and live messages that raced the fetch', () => {
    let c = mergePage(emptyChannel(), page(90, 100), 50);
    c = upsertMessage(c, msg(101));
    c = mergePage(c, page(95, 101), 50); // refresh of the newest page
    expect(ids(c)).toEqual(['90', '91', '92', '93', '94', '95', '96', '97', '98', '99', '100', '101']);
  });

  it('keeps a newer edit over a stale page copy', () => {
    let c = mergePage(emptyChannel(), page(1, 3), 50);
    c = updateMessage(c, { ...msg(2), content: 'edited', edited_at: '2030-01-01T00:00:00.000Z' });
    c = mergePage(c, page(1, 3), 50);
    expect(c.items[1].content).toBe('edited');
  });

  it('sorts ids numerically, not as text', () => {
    const c = mergePage(emptyChannel(), [msg(1000), msg(999), msg(10)], 50);
    expect(ids(c)).toEqual(['10', '999', '1000']);
  });

  it('ignores live messages older than the loaded window while history remains', () => {
    let c = mergePage(emptyChannel(), page(51, 100), 50);
    c = upsertMessage(c, msg(20));
    expect(ids(c)).not.toContain('20');
  });
});

describe('optimistic sends', () => {
  it('pending messages stay after confirmed ones and are replaced by the REST answer', () => {
    let c = mergePage(emptyChannel(), page(1, 3), 50);
    c = addPending(c, pending('n1'));
    expect(c.items.at(-1)!.state).toBe('sending');
    c = upsertMessage(c, msg(2)); // an unrelated live event keeps the pending one last
    expect(c.items.at(-1)!.nonce).toBe('n1');
    c = upsertMessage(c, { ...msg(4, { content: 'hello' }), nonce: 'n1' });
    expect(ids(c)).toEqual(['1', '2', '3', '4']);
    expect(c.items.every((m) => !m.state)).toBe(true);
  });

  it('gateway echo first (without nonce), then the REST answer: one copy', () => {
    let c = mergePage(emptyChannel(), page(1, 3), 50);
    c = addPending(c, pending('n1'));
    c = upsertMessage(c, msg(4)); // MESSAGE_CREATE, no nonce
    expect(c.items).toHaveLength(5); // confirmed + still pending
    c = upsertMessage(c, { ...msg(4), nonce: 'n1' }); // REST answer
    expect(ids(c)).toEqual(['1', '2', '3', '4']);
  });

  it('gateway echo with nonce replaces the pending copy', () => {
    let c = addPending(mergePage(emptyChannel(), [], 50), pending('n2'));
    c = upsertMessage(c, { ...msg(7), nonce: 'n2' });
    expect(ids(c)).toEqual(['7']);
  });

  it('failed state, retry state and discard', () => {
    let c = addPending(emptyChannel(), pending('n3'));
    c = setPendingState(c, 'n3', 'failed', 'network down');
    expect(c.items[0].state).toBe('failed');
    expect(c.items[0].error).toBe('network down');
    expect(c.items[0].content).toBe('hello'); // nothing typed is lost
    c = setPendingState(c, 'n3', 'sending');
    expect(c.items[0].state).toBe('sending');
    c = removePending(c, 'n3');
    expect(c.items).toHaveLength(0);
  });

  it('a page containing the confirmed copy of a pending message drops the pending one', () => {
    let c = addPending(emptyChannel(), pending('n4'));
    c = mergePage(c, [{ ...msg(5), nonce: 'n4' }], 50);
    expect(ids(c)).toEqual(['5']);
  });

  it('the confirmed copy of a pending send stays even when older than everything loaded', () => {
    // Sent into a channel whose history is not loaded yet; a newer message arrived live first.
    let c = addPending(emptyChannel(), pending('n6'));
    c = upsertMessage(c, msg(20));
    c = upsertMessage(c, { ...msg(15), nonce: 'n6' }); // the REST answer: older id
    expect(ids(c)).toEqual(['15', '20']);
    // Two quick sends whose answers come back in the other order.
    let d = addPending(addPending(emptyChannel(), pending('a')), pending('b'));
    d = upsertMessage(d, { ...msg(31), nonce: 'b' });
    d = upsertMessage(d, { ...msg(30), nonce: 'a' });
    expect(ids(d)).toEqual(['30', '31']);
  });

  it('nonces are unique', () => {
    const s = new Set(Array.from({ length: 1000 }, () => makeNonce(42)));
    expect(s.size).toBe(1000);
  });
});

describe('live edits and deletes', () => {
  it('updates and deletes only confirmed messages', () => {
    let c = mergePage(emptyChannel(), page(1, 3), 50);
    c = addPending(c, pending('n5'));
    c = updateMessage(c, { id: '2', content: 'changed', edited_at: '2030-01-01T00:00:00Z' });
    expect(c.items[1].content).toBe('changed');
    c = deleteMessage(c, '2');
    expect(ids(c)).toEqual(['1', '3', 'pending-n5']);
    const same = deleteMessage(c, '99');
    expect(same).toBe(c);
    expect(updateMessage(c, { id: '99', content: 'x' })).toBe(c);
  });
});
