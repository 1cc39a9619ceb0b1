// CPU and memory of process trees from /proc (a whole Chromium = its browser process and
// every renderer, GPU and utility child), shared by the web client benchmarks.
import { readFileSync, readdirSync } from 'node:fs';

export const HZ = 100; // USER_HZ on Linux

function children() {
  const map = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!map.has(ppid)) map.set(ppid, []);
      map.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  return map;
}

export function tree(root) {
  const kids = children();
  const out = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    for (const c of kids.get(p) ?? []) stack.push(c);
  }
  return out;
}

export function cpuTicks(pids) {
  let t = 0;
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]); // utime + stime
    } catch {
      /* exited */
    }
  }
  return t;
}

export function memory(pids) {
  let pss = 0;
  let rss = 0;
  for (const p of pids) {
    try {
      const r = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      pss += Number(/^Pss:\s+(\d+)/m.exec(r)?.[1] ?? 0);
      rss += Number(/^Rss:\s+(\d+)/m.exec(r)?.[1] ?? 0);
    } catch {
      /* exited */
    }
  }
  return { pssMiB: pss / 1024, rssMiB: rss / 1024 };
}
