// Offline checks of the deploy files an operator runs (a stage of scripts/test, with
// `docker-compose config` validating deploy/compose first): the systemd units run `hype serve`
// with roles hype knows and stop an SFU node no sooner than its drain can finish; every HYPE_*
// variable the compose file and the units set is a configuration key hype has (the list of
// `hype serve --help` when the binary is built: HYPE_BIN or build/release); the compose file
// has the phase-2 topology (PostgreSQL, Redis, two api+gateway nodes, SFU nodes in two regions,
// nginx in front).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import YAML from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const ROLES = new Set(['all', 'api', 'gateway', 'sfu', 'analytics']);
const HYPE = process.env.HYPE_BIN ?? `${root}build/release/src/app/hype`;

function units() {
  const dir = `${root}deploy/systemd`;
  return readdirSync(dir).filter((f) => f.endsWith('.service')).map((f) => {
    const sections = {};
    let cur = null;
    for (const line of readFileSync(`${dir}/${f}`, 'utf8').split('\n')) {
      const l = line.trim();
      if (!l || l.startsWith('#')) continue;
      const s = l.match(/^\[(\w+)\]$/);
      if (s) { cur = sections[s[1]] = {}; continue; }
      const kv = l.match(/^(\w+)=(.*)$/);
      assert.ok(cur && kv, `${f}: not a unit line: ${l}`);
      (cur[kv[1]] ??= []).push(kv[2]);
    }
    return { file: f, sections };
  });
}

function configVariables() {
  if (!existsSync(HYPE)) return null;
  const r = spawnSync(HYPE, ['serve', '--help'], { encoding: 'utf8' });
  return new Set(r.stdout.match(/HYPE_[A-Z0-9_]+/g));
}

test('the systemd units run hype serve with known roles, and an SFU node stops after its drain', () => {
  const all = units();
  assert.deepEqual(all.map((u) => u.file).sort(), ['hype-api.service', 'hype-sfu.service', 'hype.service']);
  const drain = Number(readFileSync(`${root}deploy/hype.example.toml`, 'utf8').match(/^drain_timeout = (\d+)/m)[1]);
  for (const { file, sections } of all) {
    for (const s of ['Unit', 'Service', 'Install']) assert.ok(sections[s], `${file}: [${s}]`);
    const exec = sections.Service.ExecStart[0].split(/\s+/);
    assert.deepEqual(exec.slice(0, 2), ['/usr/local/bin/hype', 'serve'], file);
    const roles = exec.includes('--roles') ? exec[exec.indexOf('--roles') + 1].split(',') : ['all'];
    for (const r of roles) assert.ok(ROLES.has(r), `${file}: unknown role ${r}`);
    assert.equal(sections.Service.KillSignal[0], 'SIGTERM', file);
    const stop = Number(sections.Service.TimeoutStopSec[0]);
    if (roles.includes('sfu') || roles.includes('all'))
      assert.ok(!roles.includes('sfu') || stop > drain, `${file}: TimeoutStopSec ${stop} s cuts the ${drain} s drain short`);
    assert.ok(Number(sections.Service.LimitNOFILE[0]) >= 65536, `${file}: LimitNOFILE`);
  }
});

test('the compose file has the phase-2 topology and sets only configuration keys hype has', () => {
  const compose = YAML.parse(readFileSync(`${root}deploy/compose/docker-compose.yml`, 'utf8'), { merge: true });
  const services = compose.services;
  for (const s of ['postgres', 'redis', 'api-1', 'api-2', 'sfu-eu', 'sfu-us', 'nginx']) assert.ok(services[s], `service ${s}`);
  const rolesOf = (s) => services[s].command[services[s].command.indexOf('--roles') + 1].split(',');
  assert.ok(rolesOf('api-1').includes('api') && rolesOf('api-1').includes('gateway'));
  assert.deepEqual(rolesOf('sfu-eu'), ['sfu']);
  assert.deepEqual(new Set([services['sfu-eu'].environment.HYPE_SERVER_REGION, services['sfu-us'].environment.HYPE_SERVER_REGION]), new Set(['eu', 'us']));
  const ids = Object.values(services).map((s) => s.environment?.HYPE_SERVER_NODE_ID).filter(Boolean);
  assert.equal(new Set(ids).size, ids.length, 'every node has its own server.node_id');
  const known = configVariables();
  const set = new Set();
  for (const s of Object.values(services)) for (const k of Object.keys(s.environment ?? {})) if (k.startsWith('HYPE_')) set.add(k);
  for (const { sections } of units()) for (const e of sections.Service.Environment ?? []) set.add(e.split('=')[0]);
  if (!known) return;  // no binary built: the names cannot be checked here
  for (const k of set) assert.ok(known.has(k), `${k} is not a configuration key (hype serve --help)`);
});
