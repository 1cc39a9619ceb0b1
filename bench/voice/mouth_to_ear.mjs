// Mouth-to-ear in real Chromium per network profile, P2P and through the SFU, RED off and on
// (issue 19 item 2). Each case: a fresh `hype serve`, hype-netlab with the profile, two users
// in two pages of one Chromium talking to each other with a marker train
// (tests/e2e/lib/mouth_to_ear.mjs; method in docs/design/mouth_to_ear.md).
//
//   HYPE_BIN=build/release/src/app/hype node bench/voice/mouth_to_ear.mjs [--duration 60]
//        [--profiles clean,wifi,mobile,bursty] [--modes sfu,p2p] [--red off,on] [--legs 1]
//        [--levers base,jbt0,ptime10,sr48,lh0,ptime10+jbt0] [--out docs/benchmarks] [--tag NAME]
//   node bench/voice/mouth_to_ear.mjs --from RESULTS.json [--out DIR]   (table and plots again)
//
// Prints the machine and a table (p50/p95/max mouth-to-ear, markers heard, concealed audio);
// writes the results (every marker's delay) as JSON and one CDF plot per path (gnuplot PNG)
// into --out. Needs web/dist, tests/e2e/node_modules, coturn (P2P) and hype-netlab built.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launch, runCase, describeCase } from '../../tests/e2e/lib/mouth_to_ear.mjs';

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '3' },
    profiles: { type: 'string', default: 'clean,wifi,mobile,bursty' },
    modes: { type: 'string', default: 'sfu,p2p' },
    red: { type: 'string', default: 'off,on' },
    legs: { type: 'string', default: '1' },
    // Client-side latency levers (LEVERS in tests/e2e/lib/mouth_to_ear.mjs), interleaved per path and profile.
    levers: { type: 'string', default: 'base' },
    out: { type: 'string', default: 'docs/benchmarks' },
    tag: { type: 'string', default: '' },
    from: { type: 'string', default: '' },
  },
});
const ROOT = resolve(new URL('../..', import.meta.url).pathname);
process.env.HYPE_BIN ??= join(ROOT, 'build/release/src/app/hype');
const list = (s) => s.split(',').filter(Boolean);

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}
const model = sh('lscpu', []).match(/Model name:\s*(.*)/)?.[1]?.trim() ?? cpus()[0].model;
let header = [
  `command: HYPE_BIN=${process.env.HYPE_BIN} node bench/voice/mouth_to_ear.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  `machine: ${cpus().length} cores, ${model}, kernel ${sh('uname', ['-r'])}, ${sh('/usr/bin/chromium', ['--version']).replace(/\s+built.*/, '')}`,
  `git: ${sh('git', ['rev-parse', '--short', 'HEAD'])}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load at start ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
];

const cases = [];
for (const legs of list(opt.legs).map(Number))
  for (const mode of list(opt.modes))
    for (const profile of list(opt.profiles)) for (const red of list(opt.red)) for (const lever of list(opt.levers)) cases.push({ mode, profile, red, legs, lever });

async function run() {
  const results = [];
  const browser = await launch();
  try {
    const seeds = new Map(); // one loss/jitter seed per path, profile and RED: the levers of a case see the same network
    for (const c of cases) {
      const t0 = Date.now();
      const key = `${c.legs} ${c.mode} ${c.profile} ${c.red}`;
      if (!seeds.has(key)) seeds.set(key, seeds.size + 1);
      try {
        const r = await runCase({ browser, ...c, durationS: Number(opt.duration), warmupS: Number(opt.warmup), seed: seeds.get(key), log: (m) => console.error(m) });
        r.load = loadavg()[0];
        results.push(r);
        console.error(`${describeCase(r)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      } catch (e) {
        console.error(`${c.mode} ${c.profile} red=${c.red} legs=${c.legs} lever=${c.lever}: FAILED ${e.message}`);
        results.push({ ...c, error: e.message });
      }
    }
  } finally {
    await browser.close();
  }
  return results;
}

let results;
if (opt.from) {
  ({ header, results } = JSON.parse(readFileSync(opt.from, 'utf8')));
  console.log(header.join('\n'));
} else {
  console.log(header.join('\n'));
  results = await run();
}

const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const pctOf = (a, b) => (b ? ((100 * a) / b).toFixed(1) : '-');
const rows = [
  '| path | profile | RED (codec) | legs | lever | markers heard | p50 ms | p95 ms | max ms | concealed % | concealment events | jitter buffer ms a>b / b>a | relay loss up / down % | load |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of results) {
  if (r.error) {
    rows.push(`| ${r.mode.toUpperCase()} | ${r.profile} | ${r.red} | ${r.legs} | ${r.lever ?? 'base'} | failed: ${r.error.split('\n')[0].slice(0, 80)} |||||||`);
    continue;
  }
  const jb = r.directions.map((d) => f0(d.jitterBufferMs)).join(' / ');
  const up = r.relay?.up;
  const down = r.relay?.down;
  rows.push(
    `| ${r.mode.toUpperCase()} | ${r.profile} | ${r.red} (${r.directions[0].sendCodec}) | ${r.legs} | ${r.lever ?? 'base'} | ${r.detected}/${r.emitted} | ${f0(r.p50)} | ${f0(r.p95)} | ${f0(r.max)} | ${r.concealedPct.toFixed(2)} | ${r.concealmentEvents} | ${jb} | ${up ? pctOf(up.lost, up.in) : '-'} / ${down ? pctOf(down.lost, down.in) : '-'} | ${r.load?.toFixed(1) ?? '-'} |`,
  );
}
console.log(rows.join('\n'));

const outDir = resolve(ROOT, opt.out);
mkdirSync(outDir, { recursive: true });
const tag = opt.tag ? `-${opt.tag}` : '';
if (!opt.from) {
  const jsonPath = join(outDir, `mouth-to-ear${tag}-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(jsonPath, JSON.stringify({ header, results }, null, 1) + '\n');
  console.log(`results: ${jsonPath}`);
}
for (const png of plots(results, outDir, tag)) console.log(`plot: ${png}`);

/** One CDF plot per path and legs: a colour per profile (per lever where there are several), RED on solid, off dashed. */
function plots(rs, out, suffix) {
  const tmp = mkdtempSync(join(tmpdir(), 'm2e-plot-'));
  const colours = { clean: '#1b9e77', wifi: '#7570b3', mobile: '#d95f02', bursty: '#e7298a' };
  const files = [];
  try {
    for (const mode of ['sfu', 'p2p'])
      for (const legs of [1, 2]) {
        const sel = rs.filter((r) => !r.error && r.mode === mode && r.legs === legs && r.delays.length);
        if (!sel.length) continue;
        // Several levers in one plot: a colour per lever instead (one profile is the usual case).
        const levers = [...new Set(sel.map((r) => r.lever ?? 'base'))];
        const leverColours = ['#d95f02', '#1f78b4', '#33a02c', '#6a3d9a', '#b15928', '#e31a1c'];
        const colour = (r) => (levers.length > 1 ? leverColours[levers.indexOf(r.lever ?? 'base') % leverColours.length] : (colours[r.profile] ?? '#666666'));
        const lines = sel.map((r, i) => {
          const dat = join(tmp, `${i}.dat`);
          writeFileSync(dat, r.delays.map((d, j) => `${d.toFixed(2)} ${((j + 1) / r.delays.length).toFixed(4)}`).join('\n') + '\n');
          const dash = r.red === 'off' ? 'dt 2' : 'dt 1';
          return `'${dat}' using 1:2 with steps lw 2 ${dash} lc rgb '${colour(r)}' title '${r.profile}, RED ${r.red}${r.lever && r.lever !== 'base' ? `, ${r.lever}` : ''}'`;
        });
        // A tag names the run (e.g. --tag 2legs); without one, legs 2 is named in the file.
        const png = join(out, `mouth-to-ear-cdf-${mode}${suffix || (legs === 2 ? '-2legs' : '')}.png`);
        const script = `set terminal pngcairo size 800,500
set output '${png}'
set title 'Mouth to ear, ${mode === 'sfu' ? 'through the SFU' : 'P2P (TURN)'}, profile on ${legs === 1 ? 'one leg' : 'both legs'} (Chromium ${sh('/usr/bin/chromium', ['--version']).split(' ')[1] ?? ''})'
set xlabel 'mouth to ear (ms)'
set ylabel 'fraction of markers'
set grid
set key bottom right
set yrange [0:1]
set arrow from 150, graph 0 to 150, graph 1 nohead dt 3 lw 1 lc rgb '#000000'
set label 'goal: p95 < 150 ms on mobile' at 151, graph 0.97 font ',9'
plot ${lines.join(', ')}
`;
        const r = spawnSync('gnuplot', [], { input: script, encoding: 'utf8' });
        if (r.status === 0) files.push(png);
        else console.error(`gnuplot: ${r.stderr || r.error}`);
      }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return files;
}
