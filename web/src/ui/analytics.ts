// Pure helpers of the analytics page: chart geometry and the summaries the charts show, so
// they are tested without a browser.
import type { GuildAnalytics } from '../api/types';

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
  label: string;
}

/** Bars for `values` in a width x height box (y grows down); the tallest bar fills the box. */
export function layoutBars(values: number[], labels: string[], width: number, height: number, gap = 2): Bar[] {
  const max = Math.max(0, ...values);
  const slot = values.length ? width / values.length : 0;
  return values.map((v, i) => {
    const h = max > 0 ? (Math.max(0, v) / max) * height : 0;
    return { x: i * slot + gap / 2, y: height - h, width: Math.max(1, slot - gap), height: h, value: v, label: labels[i] ?? '' };
  });
}

/** Joins per hour for the 24 hours ending at `nowMs` (oldest first), from per-minute joins. */
export function joinsPerHour(a: GuildAnalytics, nowMs: number): { start: number; joins: number; busiestMinute: number }[] {
  const hour = 3_600_000;
  const end = Math.floor(nowMs / hour) * hour + hour;
  const out = Array.from({ length: 24 }, (_, i) => ({ start: end - (24 - i) * hour, joins: 0, busiestMinute: 0 }));
  for (const m of a.joins_per_minute) {
    const i = Math.floor((m.minute - out[0].start) / hour);
    if (i < 0 || i >= 24) continue;
    out[i].joins += m.joins;
    out[i].busiestMinute = Math.max(out[i].busiestMinute, m.joins);
  }
  return out;
}

export interface Totals {
  voiceMinutes: number;
  joins: number;
  peakUsers: number;
  busiestMinute: { minute: number; joins: number } | null;
}

export function totals(a: GuildAnalytics): Totals {
  let busiest: Totals['busiestMinute'] = null;
  for (const m of a.joins_per_minute) if (!busiest || m.joins > busiest.joins) busiest = m;
  return {
    voiceMinutes: a.days.reduce((n, d) => n + d.voice_minutes, 0),
    joins: a.days.reduce((n, d) => n + d.joins, 0),
    peakUsers: a.days.reduce((n, d) => Math.max(n, d.peak_users), 0),
    busiestMinute: busiest,
  };
}

/** "1 h 05 min", "12 min", "< 1 min", "0 min": voice time as people read it. */
export function formatMinutes(min: number): string {
  if (min > 0 && min < 0.5) return '< 1 min';
  const m = Math.round(min);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "Dec 5" for a UTC date string. */
export function shortDate(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  return d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
