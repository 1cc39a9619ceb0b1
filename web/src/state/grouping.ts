// Turns a channel's messages into display rows: a divider per day, consecutive messages of
// one author within a few minutes in one group, and an unread divider before the first
// message newer than what the user had read.
import { compareIds, type Id } from '../api/types';
import type { ChatMessage } from './messages';

export const GROUP_GAP_MS = 7 * 60 * 1000;

export type Row =
  | { kind: 'day'; key: string; day: string }
  | { kind: 'unread'; key: string }
  | { kind: 'group'; key: string; authorId: Id; authorName: string; messages: ChatMessage[] };

export function localDayKey(iso: string): string {
  const d = new Date(iso);
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${d.getFullYear()}-${m}-${day}`;
}

export interface GroupOptions {
  /** Messages with an id greater than this are unread (a divider goes before the first). */
  lastReadId?: Id | null;
  dayKey?: (iso: string) => string;
  myId?: Id;
}

export function groupMessages(items: ChatMessage[], opts: GroupOptions = {}): Row[] {
  const dayKey = opts.dayKey ?? localDayKey;
  const rows: Row[] = [];
  let currentDay = '';
  let group: Extract<Row, { kind: 'group' }> | null = null;
  let lastTime = 0;
  let unreadPlaced = !opts.lastReadId;
  for (const m of items) {
    const day = dayKey(m.created_at);
    if (day !== currentDay) {
      rows.push({ kind: 'day', key: `day-${day}`, day });
      currentDay = day;
      group = null;
    }
    if (!unreadPlaced && !m.state && opts.lastReadId && compareIds(m.id, opts.lastReadId) > 0 && m.author_id !== opts.myId) {
      rows.push({ kind: 'unread', key: 'unread' });
      unreadPlaced = true;
      group = null;
    }
    const t = Date.parse(m.created_at);
    if (!group || group.authorId !== m.author_id || t - lastTime > GROUP_GAP_MS) {
      group = { kind: 'group', key: `g-${m.nonce && m.state ? m.nonce : m.id}`, authorId: m.author_id, authorName: m.author?.username ?? 'unknown', messages: [] };
      rows.push(group);
    }
    group.messages.push(m);
    lastTime = t;
  }
  return rows;
}

export function formatDay(day: string, today = new Date()): string {
  const [y, m, d] = day.split('-').map(Number);
  const date = new Date(y, m - 1, d);
  const t0 = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  const diff = Math.round((t0.getTime() - date.getTime()) / 86_400_000);
  if (diff === 0) return 'Today';
  if (diff === 1) return 'Yesterday';
  return date.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
