import { useEffect, useId, useState } from 'react';
import { ApiError } from '../api/http';
import type { GuildAnalytics } from '../api/types';
import { Dialog } from './Dialog';
import { useStore } from './hooks';
import { formatMinutes, joinsPerHour, layoutBars, shortDate, totals } from './analytics';

const W = 560;
const H = 140;

/** A bar chart in plain SVG, named for assistive technology, with its data as a table too. */
export function BarChart({ title, values, labels, describe }: { title: string; values: number[]; labels: string[]; describe: (v: number, label: string) => string }) {
  const id = useId();
  const bars = layoutBars(values, labels, W, H);
  const max = Math.max(0, ...values);
  return (
    <figure className="chart">
      <figcaption id={id}>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H + 18}`} role="img" aria-labelledby={id} preserveAspectRatio="none" className="chart-svg">
        <line x1={0} y1={H} x2={W} y2={H} className="chart-axis" />
        {bars.map((b, i) => (
          <rect key={i} x={b.x} y={b.y} width={b.width} height={b.height} className="chart-bar">
            <title>{describe(b.value, b.label)}</title>
          </rect>
        ))}
        {bars.length > 0 && (
          <>
            <text x={0} y={H + 14} className="chart-label">{labels[0]}</text>
            <text x={W} y={H + 14} textAnchor="end" className="chart-label">{labels[labels.length - 1]}</text>
          </>
        )}
        <text x={2} y={12} className="chart-label">max {describe(max, '').replace(/^: /, '')}</text>
      </svg>
      <details>
        <summary>Show as table</summary>
        <table className="chart-table">
          <tbody>
            {values.map((v, i) => (
              <tr key={i}>
                <th scope="row">{labels[i]}</th>
                <td>{describe(v, labels[i] ?? '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** The analytics page's content for loaded rollups (no fetching: rendered in tests too). */
export function AnalyticsCharts({ data, now }: { data: GuildAnalytics; now: number }) {
  const t = totals(data);
  const dayLabels = data.days.map((d) => shortDate(d.date));
  const hours = joinsPerHour(data, now);
  const hourLabels = hours.map((h) => new Date(h.start).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' }));
  return (
    <div className="analytics">
      <dl className="analytics-totals">
        <div>
          <dt>Voice time</dt>
          <dd>{formatMinutes(t.voiceMinutes)}</dd>
        </div>
        <div>
          <dt>Joins</dt>
          <dd>{t.joins}</dd>
        </div>
        <div>
          <dt>Most people at once</dt>
          <dd>{t.peakUsers}</dd>
        </div>
        <div>
          <dt>Busiest minute</dt>
          <dd>{t.busiestMinute ? `${t.busiestMinute.joins} joins` : '—'}</dd>
        </div>
      </dl>
      <BarChart title="Voice minutes per day" values={data.days.map((d) => d.voice_minutes)} labels={dayLabels} describe={(v, l) => `${l}: ${formatMinutes(v)}`} />
      <BarChart title="Peak concurrent voice users per day" values={data.days.map((d) => d.peak_users)} labels={dayLabels} describe={(v, l) => `${l}: ${v} at once`} />
      <BarChart title="Voice joins per hour, last 24 hours" values={hours.map((h) => h.joins)} labels={hourLabels} describe={(v, l) => `${l}: ${v} joins`} />
    </div>
  );
}

/** Guild managers' analytics page: GET /guilds/:id/analytics as charts. */
export function AnalyticsDialog({ guildId, onClose }: { guildId: string; onClose: () => void }) {
  const store = useStore();
  const [days, setDays] = useState(7);
  const [data, setData] = useState<GuildAnalytics | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    setError('');
    store.api.get<GuildAnalytics>(`/guilds/${guildId}/analytics?days=${days}`).then(
      (d) => live && setData(d),
      (e) => live && setError(e instanceof ApiError && e.status === 403 ? 'Only guild managers can see analytics.' : 'Could not load analytics.'),
    );
    return () => {
      live = false;
    };
  }, [store, guildId, days]);
  return (
    <Dialog title="Voice analytics" onClose={onClose} wide>
      <div className="field">
        <label htmlFor="analytics-days">Period</label>
        <select id="analytics-days" value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          <option value={7}>Last 7 days</option>
          <option value={30}>Last 30 days</option>
          <option value={90}>Last 90 days</option>
        </select>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!data && !error && <p role="status">Loading analytics…</p>}
      {data && <AnalyticsCharts data={data} now={Date.now()} />}
      <p className="muted">Days are UTC. Figures trail live voice by a few seconds.</p>
    </Dialog>
  );
}
