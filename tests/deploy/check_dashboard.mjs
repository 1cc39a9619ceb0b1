// Offline checks of deploy/ (no server, no Grafana, no Prometheus): `node --test tests/deploy`
// (a stage of scripts/test). The dashboard type-checks against @grafana/schema's Dashboard,
// every PromQL expression of panels and alert rules parses with lezer-promql and names only
// metrics of deploy/prometheus/metrics.txt, panels fit the 24-column grid without overlaps,
// and every alert has a severity, a summary, a description and a runbook section that exists
// in docs/operations.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import YAML from 'yaml';
import { DASHBOARD_PATH, OPERATIONS_PATH, RULES_PATH, allPanels, family, loadDashboard, loadMetricNames, panelQueries } from './dashboard.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dashboard = loadDashboard();
const names = loadMetricNames();
const rules = YAML.parse(readFileSync(RULES_PATH, 'utf8')).groups.flatMap((g) => g.rules);

// Parse errors and the metric names (VectorSelector identifiers) of one expression.
export function parsePromQL(expr) {
  const errors = [];
  const metrics = [];
  parser.parse(expr).iterate({
    enter(n) {
      if (n.type.isError) errors.push(`parse error at ${n.from}: ...${expr.slice(Math.max(0, n.from - 20), n.from + 20)}...`);
      if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(n.from, n.to));
    },
  });
  return { errors, metrics };
}

test('the dashboard type-checks against @grafana/schema (Dashboard, excess properties included)', () => {
  // A literal assigned to the type: string unions are checked and unknown fields rejected
  // (a JSON import would widen every string and skip excess-property checks).
  mkdirSync(join(here, 'gen'), { recursive: true });
  const json = readFileSync(DASHBOARD_PATH, 'utf8').trimEnd();
  writeFileSync(join(here, 'gen/dashboard.check.ts'), `import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = ${json};\n`);
  const r = spawnSync(process.execPath, [join(here, 'node_modules/typescript/bin/tsc'), '-p', here], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
});

test('the PromQL parser reports errors (the check below is not vacuous)', () => {
  assert.notDeepEqual(parsePromQL('sum(rate(x[5m])').errors, []);
  assert.deepEqual(parsePromQL('sum(rate(voice_joins_total[5m]))').metrics, ['voice_joins_total']);
});

test('every panel query parses and uses only contract metrics', () => {
  const queries = panelQueries(dashboard);
  assert.ok(queries.length >= 10, `${queries.length} queries`);
  const problems = [];
  for (const q of queries) {
    const { errors, metrics } = parsePromQL(q.expr);
    for (const e of errors) problems.push(`${q.panel} ${q.refId}: ${e}`);
    if (!metrics.length) problems.push(`${q.panel} ${q.refId}: no metric`);
    for (const m of metrics) if (!names.has(m)) problems.push(`${q.panel} ${q.refId}: unknown metric ${m}`);
  }
  assert.deepEqual(problems, []);
});

test('panels: unique ids, a Prometheus datasource, grid bounds (x + w <= 24) and no overlaps', () => {
  const panels = allPanels(dashboard);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate panel id');
  const problems = [];
  for (const p of panels) {
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger)) { problems.push(`${p.title}: gridPos ${JSON.stringify(g)}`); continue; }
    if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) problems.push(`${p.title}: out of the grid ${JSON.stringify(g)}`);
    if (p.datasource?.type !== 'prometheus') problems.push(`${p.title}: datasource ${JSON.stringify(p.datasource)}`);
    if (!p.targets?.length) problems.push(`${p.title}: no query`);
  }
  for (let i = 0; i < panels.length; i++)
    for (let j = i + 1; j < panels.length; j++) {
      const a = panels[i].gridPos, b = panels[j].gridPos;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) problems.push(`${panels[i].title} overlaps ${panels[j].title}`);
    }
  assert.deepEqual(problems, []);
});

test("the seed's panels and issue 18's are there", () => {
  const exprs = panelQueries(dashboard).map((q) => q.expr).join('\n');
  const titles = allPanels(dashboard).map((p) => p.title.toLowerCase()).join('\n');
  for (const t of ['latency', 'users', 'heatmap', 'error', 'funnel', 'nack', 'per-node', 'loss', 'jitter']) assert.match(titles, new RegExp(t), t);
  for (const p of ['0.5', '0.95', '0.99']) assert.match(exprs, new RegExp(`histogram_quantile\\(${p}, [^\\n]*voice_latency_seconds_bucket`));
  assert.ok(allPanels(dashboard).some((p) => p.type === 'heatmap' && p.targets.some((t) => /sfu_worker_cpu_seconds_total/.test(t.expr))));
});

// GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
function anchors(markdown) {
  return new Set(markdown.split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => l.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
}

test('alert rules: PromQL parses, contract metrics only, severity, summary, description, runbook section', () => {
  const sections = anchors(readFileSync(OPERATIONS_PATH, 'utf8'));
  const alerts = rules.filter((r) => r.alert);
  for (const a of ['HighVoiceLatency', 'SFUNodeDown', 'HighPacketLoss', 'TooManyErrors', 'SFUStress', 'JoinSuccessLow'])
    assert.ok(alerts.some((r) => r.alert === a), a);
  assert.ok(alerts.some((r) => /absent\(/.test(r.expr)), 'an absent() rule');
  const problems = [];
  for (const r of alerts) {
    const { errors, metrics } = parsePromQL(r.expr);
    for (const e of errors) problems.push(`${r.alert}: ${e}`);
    for (const m of metrics) if (!names.has(m) && !names.has(family(m))) problems.push(`${r.alert}: unknown metric ${m}`);
    if (!['critical', 'warning', 'info'].includes(r.labels?.severity)) problems.push(`${r.alert}: severity ${r.labels?.severity}`);
    for (const k of ['summary', 'description', 'runbook_url']) if (!r.annotations?.[k]) problems.push(`${r.alert}: no ${k}`);
    const m = /^docs\/operations\.md#(.+)$/.exec(r.annotations?.runbook_url ?? '');
    if (!m || !sections.has(m[1])) problems.push(`${r.alert}: runbook ${r.annotations?.runbook_url} is not a section of docs/operations.md`);
    if (!r.for) problems.push(`${r.alert}: no for:`);
  }
  assert.deepEqual(problems, []);
});

test('docs/operations.md lists every metric of metrics.txt', () => {
  const doc = readFileSync(OPERATIONS_PATH, 'utf8');
  const missing = [...names].filter(([n, type]) => type !== 'histogram-series' && n !== 'up' && !doc.includes('`' + n)).map(([n]) => n);
  assert.deepEqual(missing, []);
});
