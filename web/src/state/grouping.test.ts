import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './messages';
import { groupMessages, formatDay } from './grouping';

const day = (iso: string) => iso.slice(0, 10); // UTC days for determinism
function m(id: number, author: string, iso: string, extra: Partial<ChatMessage> = {}): ChatMessage {
  return { id: String(id), channel_id: 'c', guild_id: 'g', author_id: author, author: { id: author, username: 'u' + author }, content: 'x', created_at: iso, edited_at: null, ...extra };
}

describe('groupMessages', () => {
  it('groups consecutive messages of one author and splits on author change', () => {
    const rows = groupMessages(
      [m(1, 'a', '2026-01-01T10:00:00Z'), m(2, 'a', '2026-01-01T10:01:00Z'), m(3, 'b', '2026-01-01T10:02:00Z'), m(4, 'a', '2026-01-01T10:03:00Z')],
      { dayKey: day },
    );
    expect(rows.map((r) => r.kind)).toEqual(['day', 'group', 'group', 'group']);
    const groups = rows.filter((r) => r.kind === 'group');
    expect(groups.map((g) => (g.kind === 'group' ? g.messages.length : 0))).toEqual([2, 1, 1]);
  });

  it('splits on a long pause and on a new day, with a day divider', () => {
    const rows = groupMessages(
      [m(1, 'a', '2026-01-01T10:00:00Z'), m(2, 'a', '2026-01-01T10:30:00Z'), m(3, 'a', '2026-01-01T23:59:00Z'), m(4, 'a', '2026-01-02T00:00:30Z')],
      { dayKey: day },
    );
    expect(rows.map((r) => r.kind)).toEqual(['day', 'group', 'group', 'group', 'day', 'group']);
    expect(rows[4]).toMatchObject({ kind: 'day', day: '2026-01-02' });
  });

  it('puts the unread divider before the first unread message of someone else', () => {
    const rows = groupMessages([m(1, 'a', '2026-01-01T10:00:00Z'), m(2, 'a', '2026-01-01T10:00:10Z'), m(3, 'b', '2026-01-01T10:00:20Z')], {
      dayKey: day,
      lastReadId: '1',
      myId: 'b',
    });
    expect(rows.map((r) => r.kind)).toEqual(['day', 'group', 'unread', 'group', 'group']);
  });

  it('no divider when everything is read', () => {
    const rows = groupMessages([m(1, 'a', '2026-01-01T10:00:00Z')], { dayKey: day, lastReadId: '1' });
    expect(rows.some((r) => r.kind === 'unread')).toBe(false);
  });

  it('formats today and yesterday', () => {
    const today = new Date(2026, 0, 2, 12);
    expect(formatDay('2026-01-02', today)).toBe('Today');
    expect(formatDay('2026-01-01', today)).toBe('Yesterday');
    expect(formatDay('2025-12-01', today)).toMatch(/2025/);
  });
});
