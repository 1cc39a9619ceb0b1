// CPU and memory of ONE Chromium participant (its whole browser process tree, read from
// /proc) in a P2P voice call of 2, 4 and 8 people. Every participant is its own Chromium
// process (same flags as the e2e tests, fake microphone), logged in through the real UI.
//
//   HYPE_BIN=build/web-e2e/src/app/hype node bench/web/p2p-cpu.mjs [sizes=2,4,8] [seconds=20]
//
// Needs web/dist built and tests/e2e/node_modules (npm ci in tests/e2e).
import { cpus, loadavg } from 'node:os';
import { chromium } from '../../tests/e2e/node_modules/playwright-core/index.mjs';
import { CHROMIUM_ARGS, api, loginUi, registerApi, setBase, sleep, until } from '../../tests/e2e/lib/browser.mjs';
import { startHype } from '../../tests/e2e/lib/server.mjs';
import { HZ, cpuTicks, memory, tree } from './procstat.mjs';

const sizes = (process.argv[2] ?? '2,4,8').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 20);

async function call(n) {
  const stamp = Date.now().toString(36).slice(-5);
  const users = [];
  for (let i = 0; i < n; i++) users.push({ name: `bench${n}_${i}_${stamp}`, auth: await registerApi(`bench${n}_${i}_${stamp}`) });
  const g = await api('POST', '/guilds', { name: `Bench ${n}` }, users[0].auth.access_token);
  const inv = await api('POST', `/guilds/${g.id}/invites`, {}, users[0].auth.access_token);
  for (const u of users.slice(1)) await api('POST', `/invites/${inv.code}`, undefined, u.auth.access_token);

  const browsers = [];
  try {
    for (const u of users) {
      const server = await chromium.launchServer({ executablePath: '/usr/bin/chromium', headless: false, args: CHROMIUM_ARGS });
      const browser = await chromium.connect(server.wsEndpoint());
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, baseURL: process.env.HYPE_URL_BENCH });
      const page = await context.newPage();
      await page.goto('/');
      await loginUi(page, u.name);
      browsers.push({ server, browser, page, pid: server.process().pid, id: u.auth.user.id });
    }
    for (const b of browsers) {
      await b.page.getByRole('button', { name: 'Join voice' }).click();
      await b.page.getByRole('button', { name: 'Leave voice' }).waitFor();
    }
    // Everyone receives audio from everyone else.
    for (const b of browsers) {
      await until(
        async () => {
          const s = await b.page.evaluate(() => window.__hype.rtcService.getStatsSummary());
          return Object.values(s).filter((x) => x.packetsReceived > 0).length === n - 1;
        },
        { timeout: 90_000, interval: 1000, what: `full mesh of ${n}` },
      ).catch(async (e) => {
        for (const x of browsers) {
          const d = await x.page.evaluate(() => ({
            peers: Object.fromEntries(Object.entries(window.__hype.rtcService.getSnapshot().peers).map(([k, v]) => [k.slice(-4), v.connectionState + '/' + (v.stats?.packetsReceived ?? '-')])),
            log: window.__hype.store.logs.slice(-8),
          }));
          console.error(x.id.slice(-4), JSON.stringify(d));
        }
        throw e;
      });
    }
    await sleep(5000); // let encoders and jitter buffers settle
    const pids = tree(browsers[0].pid);
    const allPids = browsers.map((b) => tree(b.pid));
    const t0 = process.hrtime.bigint();
    const c0 = cpuTicks(pids);
    const all0 = allPids.map(cpuTicks);
    const load0 = loadavg()[0];
    await sleep(seconds * 1000);
    const c1 = cpuTicks(pids);
    const all1 = allPids.map(cpuTicks);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    const stats = await browsers[0].page.evaluate(() => window.__hype.rtcService.getStatsSummary());
    const mem = memory(tree(browsers[0].pid));
    const cpuPct = ((c1 - c0) / HZ / dt) * 100;
    const avgAll = all1.reduce((a, v, i) => a + (v - all0[i]), 0) / n / HZ / dt * 100;
    return {
      n,
      processes: pids.length,
      cpuPct,
      avgAllPct: avgAll,
      ...mem,
      load: `${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`,
      rttMs: Math.max(...Object.values(stats).map((s) => s.rttMs ?? 0)),
      lossPct: Math.max(...Object.values(stats).map((s) => s.lossRate * 100)),
    };
  } finally {
    for (const b of browsers) {
      await b.browser.close().catch(() => {});
      await b.server.close().catch(() => {});
    }
  }
}

const hype = await startHype();
setBase(hype.url);
process.env.HYPE_URL_BENCH = hype.url;
const results = [];
try {
  for (const n of sizes) {
    const r = await call(n);
    results.push(r);
    console.log(JSON.stringify(r));
  }
} finally {
  await hype.stop();
}
console.log(`\n${cpus().length} cores (${cpus()[0].model}); window ${seconds} s; CPU in % of one core\n`);
console.log('| people in call | participant CPU % | avg CPU % of all participants | PSS MiB | RSS MiB | processes | load avg (1 min) | max RTT ms | max loss % |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.n} | ${r.cpuPct.toFixed(1)} | ${r.avgAllPct.toFixed(1)} | ${r.pssMiB.toFixed(0)} | ${r.rssMiB.toFixed(0)} | ${r.processes} | ${r.load} | ${r.rttMs.toFixed(0)} | ${r.lossPct.toFixed(1)} |`);
}
