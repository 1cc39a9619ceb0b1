// Shared by the offline checks (check_dashboard.mjs) and the online one
// (tests/integration/observability.test.mjs): no npm dependency here.
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
export const DASHBOARD_PATH = new URL('deploy/grafana/hype-dashboard.json', root).pathname;
export const RULES_PATH = new URL('deploy/prometheus/rules/hype.rules.yml', root).pathname;
export const METRICS_PATH = new URL('deploy/prometheus/metrics.txt', root).pathname;
export const OPERATIONS_PATH = new URL('docs/operations.md', root).pathname;

export function loadDashboard() {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8'));
}

// The dashboard's panels, rows flattened (a collapsed row keeps its panels inside).
export function allPanels(dashboard) {
  const out = [];
  for (const p of dashboard.panels ?? []) {
    if (p.type === 'row') out.push(...(p.panels ?? []));
    else out.push(p);
  }
  return out;
}

// Grafana's template variables replaced by what Prometheus accepts: $__rate_interval by a
// range (default 1m), $instance (or ${instance}) by a regex matching every node.
export function substitute(expr, { rateInterval = '1m' } = {}) {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('${__rate_interval}', rateInterval)
    .replace(/\$\{?instance\}?/g, '.*');
}

// Every PromQL query of the dashboard: { panel, refId, expr } with variables substituted.
export function panelQueries(dashboard, opts) {
  const out = [];
  for (const panel of allPanels(dashboard))
    for (const t of panel.targets ?? [])
      if (typeof t.expr === 'string') out.push({ panel: panel.title, refId: t.refId, expr: substitute(t.expr, opts), raw: t.expr });
  return out;
}

// The metric names of the contract (deploy/prometheus/metrics.txt): Map name -> type, with
// each histogram's _bucket, _sum and _count series names added.
export function loadMetricNames() {
  const names = new Map();
  for (const line of readFileSync(METRICS_PATH, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [name, type] = t.split(/\s+/);
    names.set(name, type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.set(name + s, 'histogram-series');
  }
  return names;
}

// The series names of the contract an expression mentions (a word-level scan; the offline
// check parses with lezer-promql and finds unknown names too).
export function metricsIn(expr, names = loadMetricNames()) {
  const found = new Set();
  for (const m of expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) if (names.has(m[0]) && names.get(m[0]) !== undefined) found.add(m[0]);
  return [...found];
}

// A histogram series name's family (voice_latency_seconds_bucket -> voice_latency_seconds).
export function family(name) {
  return name.replace(/_(bucket|sum|count)$/, '');
}
