import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { GuildAnalytics } from '../api/types';
import { AnalyticsCharts } from './AnalyticsDialog';
import { formatMinutes, joinsPerHour, layoutBars, shortDate, totals } from './analytics';

const NOW = Date.UTC(2026, 11, 5, 14, 30); // 2026-12-05 14:30 UTC
const data: GuildAnalytics = {
  guild_id: '42',
  from: '2026-12-03',
  to: '2026-12-05',
  days: [
    { date: '2026-12-03', voice_seconds: 0, voice_minutes: 0, peak_users: 0, joins: 0 },
    { date: '2026-12-04', voice_seconds: 5400, voice_minutes: 90, peak_users: 7, joins: 12 },
    { date: '2026-12-05', voice_seconds: 1800, voice_minutes: 30, peak_users: 3, joins: 4 },
  ],
  joins_per_minute: [
    { minute: Date.UTC(2026, 11, 4, 9, 0), joins: 12 }, // older than 24 h: not in the hourly chart
    { minute: Date.UTC(2026, 11, 5, 13, 5), joins: 3 },
    { minute: Date.UTC(2026, 11, 5, 14, 10), joins: 1 },
  ],
};

describe('analytics helpers', () => {
  it('scales bars to the tallest and keeps zero bars flat', () => {
    const bars = layoutBars([0, 5, 10], ['a', 'b', 'c'], 300, 100, 0);
    expect(bars.map((b) => b.height)).toEqual([0, 50, 100]);
    expect(bars.map((b) => b.y)).toEqual([100, 50, 0]);
    expect(bars.map((b) => b.x)).toEqual([0, 100, 200]);
    expect(layoutBars([0, 0], ['a', 'b'], 100, 50).every((b) => b.height === 0)).toBe(true);
    expect(layoutBars([], [], 100, 50)).toEqual([]);
  });

  it('buckets joins per minute into the last 24 hours', () => {
    const hours = joinsPerHour(data, NOW);
    expect(hours).toHaveLength(24);
    expect(hours[23].start).toBe(Date.UTC(2026, 11, 5, 14));
    expect(hours[23].joins).toBe(1);
    expect(hours[22].joins).toBe(3);
    expect(hours.reduce((n, h) => n + h.joins, 0)).toBe(4);
  });

  it('sums the period', () => {
    const t = totals(data);
    expect(t.voiceMinutes).toBe(120);
    expect(t.joins).toBe(16);
    expect(t.peakUsers).toBe(7);
    expect(t.busiestMinute?.joins).toBe(12);
    expect(formatMinutes(120)).toBe('2 h 00 min');
    expect(formatMinutes(12.4)).toBe('12 min');
    expect(formatMinutes(0.2)).toBe('< 1 min');
    expect(formatMinutes(0)).toBe('0 min');
    expect(shortDate('2026-12-04')).toBe('Dec 4');
  });
});

describe('AnalyticsCharts', () => {
  const html = renderToStaticMarkup(createElement(AnalyticsCharts, { data, now: NOW }));

  it('renders three named SVG charts', () => {
    const svgs = html.match(/<svg[^>]*role="img"[^>]*aria-labelledby="([^"]+)"/g) ?? [];
    expect(svgs).toHaveLength(3);
    for (const svg of svgs) {
      const id = /aria-labelledby="([^"]+)"/.exec(svg)![1];
      expect(html).toContain(`<figcaption id="${id}">`);
    }
    expect(html).toContain('Voice minutes per day');
    expect(html).toContain('Peak concurrent voice users per day');
    expect(html).toContain('Voice joins per hour, last 24 hours');
  });

  it('describes every bar and shows the totals', () => {
    expect(html).toContain('<title>Dec 4: 1 h 30 min</title>');
    expect(html).toContain('<title>Dec 4: 7 at once</title>');
    expect(html).toContain('2 h 00 min');
    expect(html).toContain('max 1 h 30 min');
    expect(html).toContain('<dt>Most people at once</dt><dd>7</dd>');
    expect((html.match(/<rect /g) ?? []).length).toBe(3 + 3 + 24);
  });
});
