// CPU and memory of processes from /proc, for benchmark reports (Linux only).
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch { /* keep the usual 100 */ }

function statFields(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // comm may contain spaces and parentheses: fields start after the last ')'.
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

// utime + stime of one process (all its threads), in seconds.
export function cpuSeconds(pid) {
  try {
    const f = statFields(pid);
    return (Number(f[11]) + Number(f[12])) / clkTck; // fields 14 and 15 of stat(5)
  } catch {
    return NaN;
  }
}

// A process and its direct children (PostgreSQL: postmaster + backends), summed.
export function treeCpuSeconds(pid) {
  let total = cpuSeconds(pid);
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const f = statFields(e);
      if (Number(f[1]) === pid) total += (Number(f[11]) + Number(f[12])) / clkTck;
    } catch { /* exited meanwhile */ }
  }
  return total;
}

// {rssMiB, hwmMiB} from /proc/<pid>/status.
export function memory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kib = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) ?? [0, NaN])[1]);
    return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
  } catch {
    return { rssMiB: NaN, hwmMiB: NaN };
  }
}

export function loadavg() {
  return readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
}

export function cpuModel() {
  const m = readFileSync('/proc/cpuinfo', 'latin1').match(/^model name\s*:\s*(.*)$/m);
  return m ? m[1] : 'unknown';
}

// Seconds a process's threads ran and waited on a run queue (/proc/<pid>/task/*/schedstat).
// A large wait next to a modest run time means the process wanted a CPU and did not get one:
// neighbours on a shared machine, or too many of our own threads on one pinned core.
export function sched(pid) {
  let run = 0, wait = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [r, w] = readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ').map(Number);
        run += r; wait += w;
      } catch { /* thread exited */ }
    }
  } catch { return { run: NaN, wait: NaN }; }
  return { run: run / 1e9, wait: wait / 1e9 };
}
