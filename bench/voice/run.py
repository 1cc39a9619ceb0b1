#!/usr/bin/env python3
"""Voice benchmark (issue #8): hype's SFU and Janus 1.1.2's videoroom, same machine, same
hype-bot clients, same run.

Each case starts a fresh server pinned to --server-cpu, then hype-bot processes (whole
channels, about --bots-per-proc bots each) pinned to --bots-cpu (`--target hype` or `--target janus`: identical media, Opus
in the frame length each server's answer asks for (--ptime 0, the default: hype asks 10 ms of
the first sfu.audio_ptime_busy_at sessions on a worker and 20 ms of the rest, Janus asks
nothing: 20 ms; --ptime 10 or 20 forces one for all) with talk spurts and DTX, audio level extension, the send stamp inside the Opus
padding). The server's CPU (utime+stime from /proc) and the bots' CPU are sampled over a
window inside the media phase of every bot process (all processes start media together
through a go file); forwarded packets/s is what the bots received divided by the media
duration; latency is the receiving socket's kernel arrival time minus the bot's send stamp
(same clock, same process), the first --warmup seconds apart; join time is the first
signaling request to DTLS-connected on the receiving transport. See docs/benchmarks.md.

Scenarios:
  one-channel  one channel of --users (50) with --speakers (3) talking
  channels     --channels (20) channels of --channel-size (10), --speakers (2) each
  ramp         channels of --channel-size (10) with --speakers (2), adding --ramp-step
               users per step (fresh server per step) from --ramp-start until loss > --loss-limit %
               or p99 > --p99-limit ms or bots fail to connect, up to --ramp-max users;
               --single-channel ramps one channel instead
  smoke        hype and janus at 4 users, 2 speakers, 3 s: for CI
  all          one-channel, channels and ramp

Results (results.json, summary.md, PNG plots via gnuplot) go to --out.
Example: bench/voice/run.sh --scenario one-channel --users 50 --speakers 3 --duration 20
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plots  # noqa: E402
import servers  # noqa: E402

# Thread name prefix of each server's media threads (hype names its SFU workers).
MEDIA_THREADS = {"hype": "hype-sfu-"}
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def log(*a):
    print(f"[voicebench {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "loadavg_at_start": os.getloadavg(), "git_rev": rev,
            "date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%SZ")}


def percentile_hist(hist, total, p):
    """hist: sorted [(bucket_10us, count)] -> ms at percentile p (0..1)."""
    if total == 0:
        return None
    need = p * total
    acc = 0
    for b, c in hist:
        acc += c
        if acc >= need:
            return (b * 10 + 5) / 1000.0
    return (hist[-1][0] * 10 + 5) / 1000.0


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


class BotProc:
    def __init__(self, cmd):
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.media_start = None
        self.connected = None
        self.stderr = []
        self.stdout = ""
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err.start()
        self.t_out.start()

    def _read_err(self):
        for line in self.proc.stderr:
            if "hype-bot: connected" in line and self.connected is None:
                self.connected = time.time()
            elif "media start" in line and self.media_start is None:
                self.media_start = time.time()
            else:
                self.stderr.append(line)

    def _read_out(self):
        self.stdout = self.proc.stdout.read()

    def report(self):
        self.t_out.join()
        try:
            return json.loads(self.stdout.strip().splitlines()[-1])
        except Exception:
            return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind, a):
    """--port-base 0 (default): free ports picked now, so that concurrent runs (CI) coexist."""
    pin = None if a.no_pin else a.server_cpu
    if kind == "hype":
        http = a.port_base or free_port()
        env = dict(kv.split("=", 1) for kv in a.hype_env)
        srv = servers.HypeServer(a.hype_bin, http, a.port_base + 10 if a.port_base else 0, pin,
                                 a.hype_workers, env)
    else:
        http = a.port_base + 8 if a.port_base else free_port()
        srv = servers.JanusServer(http, (a.rtp_ports[0], a.rtp_ports[1]), pin, a.janus_event_loops)
    if a.server_cpu_quota:
        srv.limit_cpu(a.server_cpu_quota)
    return srv


def run_case(kind, scenario, channels, size, speakers, a):
    """One measurement: fresh server, `channels` bot processes of `size` bots each."""
    users = channels * size
    log(f"{kind}: {scenario}: {channels} channel(s) x {size} users, {speakers} speaking, "
        f"{a.duration} s")
    srv = start_server(kind, a)
    bots = []
    try:
        pin = [] if a.no_pin else ["taskset", "-c", str(a.bots_cpu)]
        if a.nice:
            pin = ["nice", "-n", str(a.nice)] + pin
        go = os.path.join(a.out, f".go-{kind}-{os.getpid()}")
        if os.path.exists(go):
            os.unlink(go)
        # The crowd: every process registers its bots first, then all join at one moment
        # (the join file), so the join times are those of `users` simultaneous joins and no
        # registration (Argon2id on the server) overlaps them.
        join_go = go + "-join"
        for stale in [join_go] + [p for p in os.listdir(a.out) if p.startswith(os.path.basename(join_go) + ".ready-")]:
            try:
                os.unlink(stale if os.path.isabs(stale) else os.path.join(a.out, stale))
            except OSError:
                pass
        join_timeout = min(120, max(20, users * 0.1))
        per_proc = max(1, a.bots_per_proc // size)
        groups = [min(per_proc, channels - i) for i in range(0, channels, per_proc)]
        for g in groups:
            cmd = pin + [a.bot_bin, "--channels", str(g), "--count", str(size),
                         "--speakers", str(speakers),
                         "--duration", str(a.duration), "--json", "--go-file", go,
                         "--join-timeout", str(join_timeout), "--warmup", str(a.warmup),
                         "--join-file", join_go, "--ptime", str(a.ptime)] + srv.bot_args()
            bots.append(BotProc(cmd))
        setup_deadline = time.time() + 600
        while time.time() < setup_deadline:
            ready = [p for p in os.listdir(a.out) if p.startswith(os.path.basename(join_go) + ".ready-")]
            if len(ready) >= len(bots) or any(b.proc.poll() is not None for b in bots):
                break
            time.sleep(0.05)
        open(join_go, "w").close()
        # Every process joins, then all start their media at once (the go file), so that
        # no join (DTLS handshakes on the server) overlaps anyone's media.
        deadline = time.time() + join_timeout + 60
        while time.time() < deadline:
            if all(b.connected or b.proc.poll() is not None for b in bots):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        open(go, "w").close()
        go_t = time.time()
        while time.time() < go_t + 5:
            if all(b.media_start or b.proc.poll() is not None for b in bots):
                break
            time.sleep(0.02)
        os.unlink(go)
        for p in os.listdir(a.out):
            if p.startswith(os.path.basename(join_go)):
                os.unlink(os.path.join(a.out, p))
        starts = [b.media_start for b in bots if b.media_start]
        window = None
        if starts:
            # media runs from media_start + 0.3 s for `duration` s in each process
            w0 = max(starts) + 0.3 + max(0.7, a.warmup)
            w1 = min(starts) + 0.3 + a.duration - 0.3
            span = w1 - w0
            if span >= 3:
                w1 = w0 + 3 * int(span / 3)  # whole talk-spurt cycles (3 s)
            if span > 0.5:
                time.sleep(max(0, w0 - time.time()))
                c0 = srv.cpu_seconds()
                q0 = srv.runqueue_wait_seconds()
                m0 = srv.runqueue_wait_seconds(MEDIA_THREADS.get(kind))
                b0 = sum(_cpu(b.proc.pid) for b in bots)
                t0 = time.time()
                time.sleep(max(0, w1 - time.time()))
                c1 = srv.cpu_seconds()
                q1 = srv.runqueue_wait_seconds()
                m1 = srv.runqueue_wait_seconds(MEDIA_THREADS.get(kind))
                b1 = sum(_cpu(b.proc.pid) for b in bots)
                t1 = time.time()
                window = {"seconds": t1 - t0, "server_cpu_s": c1 - c0, "bots_cpu_s": b1 - b0,
                          "server_runqueue_wait_s": round(q1 - q0, 4),
                          # Of that, the media threads' (hype's SFU workers): the time a packet
                          # could wait because another thread held the core.
                          "media_runqueue_wait_s": round(m1 - m0, 4) if MEDIA_THREADS.get(kind) else None,
                          "loadavg_1m": os.getloadavg()[0]}
        for b in bots:
            try:
                b.proc.wait(timeout=a.duration + 120)
            except subprocess.TimeoutExpired:
                b.proc.kill()
                b.proc.wait()
        reports = [b.report() for b in bots]
        rss = srv.peak_rss_mb()
        threads = srv.threads()
    finally:
        for b in bots:
            if b.proc.poll() is None:
                b.proc.kill()
        srv.stop()
    return summarize(kind, scenario, channels, size, speakers, a, reports, bots, window, rss,
                     threads)


def _cpu(pid):
    try:
        return servers.proc_cpu_seconds(pid)
    except OSError:
        return 0.0


def summarize(kind, scenario, channels, size, speakers, a, reports, bots, window, rss, threads):
    ok = [r for r in reports if r]
    sent = sum(r["packets_sent"] for r in ok)
    recv = sum(r["packets_received"] for r in ok)
    exp = sum(r["packets_expected"] for r in ok)
    hist = {}
    for r in ok:
        for k, v in r.get("latency_hist_10us", {}).items():
            hist[int(k)] = hist.get(int(k), 0) + v
    hs = sorted(hist.items())
    n = sum(c for _, c in hs)
    # hype-bot's connect_ms: join start to DTLS connected (its join_ms runs to the first
    # remote audio, which with --go-file includes the wait for every process to connect)
    joins = [j for r in ok for j in r.get("connect_ms", r.get("join_ms", []))]
    errors = [e for r in ok for e in r.get("errors", [])]
    errors += [f"bot process exited {b.proc.returncode} without a report: "
               + "".join(b.stderr[-3:]).strip() for b, r in zip(bots, reports) if not r]
    # An expected count of 0 means nothing was received at all.
    loss = 100.0 * (exp - min(exp, recv)) / exp if exp else 100.0
    res = {
        "server": kind, "scenario": scenario, "channels": channels, "channel_size": size,
        "users": channels * size, "speakers_per_channel": speakers, "duration_s": a.duration,
        "connected": sum(r["connected"] for r in ok),
        "bots_hearing_every_speaker": sum(r["bots_hearing_every_speaker"] for r in ok),
        "packets_sent": sent, "packets_received": recv, "packets_expected": exp,
        "loss_pct": round(loss, 4),
        "forwarded_pps": round(recv / a.duration, 1),
        "latency_ms": {"p50": percentile_hist(hs, n, 0.5), "p99": percentile_hist(hs, n, 0.99),
                       "p999": percentile_hist(hs, n, 0.999), "samples": n},
        "join_ms": {"p50": pct(joins, 0.5), "p99": pct(joins, 0.99)},
        "warmup_s": a.warmup,
        "warmup_latency_ms_max": max([r.get("warmup_latency_ms_max", 0) for r in ok] or [0]),
        "server_peak_rss_mb": round(rss, 1), "server_threads": threads,
        "window": window, "errors": errors[:5], "error_count": len(errors),
        "server_cpu_quota_pct": a.server_cpu_quota or None,
        "latency_hist_10us": hs,
    }
    if window and window["seconds"] > 0:
        util = window["server_cpu_s"] / window["seconds"]
        res["server_cpu_pct"] = round(100 * util, 1)
        res["bots_cpu_pct"] = round(100 * window["bots_cpu_s"] / window["seconds"], 1)
        res["server_cpu_s_per_mpkt"] = (round(util / res["forwarded_pps"] * 1e6, 2)
                                        if res["forwarded_pps"] else None)
    if a.server_cpu_quota:
        # Under a CPU quota: what one whole core would forward at this load.
        res["forwarded_pps_per_core"] = round(res["forwarded_pps"] / (a.server_cpu_quota / 100), 1)
    log(f"{kind}: {line(res)}" + (f" per-core {res['forwarded_pps_per_core']:.0f} pkt/s"
                                   if a.server_cpu_quota else ""))
    return res


def line(r):
    lat = r["latency_ms"]
    w = r.get("window") or {}
    f = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    return (f"users {r['users']} connected {r['connected']} fwd {r['forwarded_pps']:.0f} pkt/s "
            f"cpu {f(r.get('server_cpu_pct'), 1)}% ({f(r.get('server_cpu_s_per_mpkt'))} s/Mpkt) "
            f"bots {f(r.get('bots_cpu_pct'), 1)}% rss {r['server_peak_rss_mb']} MB "
            f"lat p50/p99/p99.9 {f(lat['p50'])}/{f(lat['p99'])}/{f(lat['p999'])} ms "
            f"(warm-up max {r['warmup_latency_ms_max']:.1f}) loss {r['loss_pct']:.2f}% "
            f"rq-wait {f(w.get('server_runqueue_wait_s'), 3)} s (media {f(w.get('media_runqueue_wait_s'), 3)} s) load {f(w.get('loadavg_1m'), 1)} "
            f"join p50/p99 {f(r['join_ms']['p50'], 0)}/"
            f"{f(r['join_ms']['p99'], 0)} ms errors {r['error_count']}")


def failed(r, a):
    return (r["connected"] < r["users"] or r["loss_pct"] > a.loss_limit
            or (r["latency_ms"]["p99"] or 1e9) > a.p99_limit)


def ramp(kind, a):
    steps = []
    users = a.ramp_start
    capacity = None
    while users <= a.ramp_max:
        for attempt in range(1 + a.ramp_retries):
            if a.single_channel:
                r = run_case(kind, "ramp", 1, users, a.speakers or 3, a)
            else:
                size = a.channel_size
                r = run_case(kind, "ramp", max(1, users // size), size, a.speakers or 2, a)
            r["attempt"] = attempt + 1
            steps.append(r)
            if not failed(r, a):
                break
            # A step can fail on a neighbour's burst (shared machine): --ramp-retries more tries.
        if failed(r, a):
            break
        capacity = r["users"]
        users += a.ramp_step
    return steps, capacity


def markdown(results, caps, a, m):
    out = [f"Machine: {m['nproc']} cores, {m['cpu_model']}, kernel {m['kernel']}, "
           f"load at start {m['loadavg_at_start'][0]:.2f}, git {m['git_rev']}, {m['date_utc']}",
           "", "| scenario | server | users | fwd pkt/s | server CPU % | CPU s / Mpkt | bots CPU % "
           "| peak RSS MB | latency p50 / p99 / p99.9 ms | loss % | join p50 / p99 ms |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    for r in results:
        lat = r["latency_ms"]
        out.append(f"| {r['scenario']} | {r['server']} | {r['users']} | {r['forwarded_pps']:.0f} "
                   f"| {f(r.get('server_cpu_pct'), 1)} | {f(r.get('server_cpu_s_per_mpkt'))} "
                   f"| {f(r.get('bots_cpu_pct'), 1)} | {r['server_peak_rss_mb']} "
                   f"| {f(lat['p50'])} / {f(lat['p99'])} / {f(lat['p999'])} "
                   f"| {r['loss_pct']:.2f} | {f(r['join_ms']['p50'], 0)} / "
                   f"{f(r['join_ms']['p99'], 0)} |")
    ratios = []
    for scen in dict.fromkeys(r["scenario"] for r in results if r["scenario"] != "ramp"):
        h = [r for r in results if r["scenario"] == scen and r["server"] == "hype"]
        j = [r for r in results if r["scenario"] == scen and r["server"] == "janus"]
        if h and j and h[0].get("server_cpu_s_per_mpkt") and j[0].get("server_cpu_s_per_mpkt"):
            ratios.append(f"{scen}: CPU per forwarded packet hype/janus = "
                          f"{h[0]['server_cpu_s_per_mpkt'] / j[0]['server_cpu_s_per_mpkt']:.2f}")
    if ratios:
        out += [""] + ratios
    for k, v in caps.items():
        out.append(f"capacity ({k}): {v if v is not None else 'below the first step'} users "
                   f"(last step meeting loss <= {a.loss_limit}% and p99 <= {a.p99_limit} ms)")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenario", default="one-channel",
                   choices=["one-channel", "channels", "ramp", "smoke", "all"])
    p.add_argument("--servers", default="hype,janus")
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--speakers", type=int, default=0, help="per channel (default 3 / 2 / 2)")
    p.add_argument("--channels", type=int, default=20)
    p.add_argument("--channel-size", type=int, default=10)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--ramp-start", type=int, default=100)
    p.add_argument("--ramp-step", type=int, default=100)
    p.add_argument("--ramp-max", type=int, default=1000)
    p.add_argument("--single-channel", action="store_true", help="ramp one channel")
    p.add_argument("--ramp-retries", type=int, default=1,
                   help="tries more of a failing step before it ends the ramp (noisy machine)")
    p.add_argument("--ptime", type=int, choices=[0, 10, 20], default=0,
                   help="Opus frame ms every bot sends: 0 (default) what each server's answer "
                        "asks (hype: 10 ms on a worker under sfu.audio_ptime_busy_at sessions, "
                        "20 from there on; Janus: nothing, so 20), or 10 / 20 for every server "
                        "alike")
    p.add_argument("--warmup", type=float, default=2.0,
                   help="first seconds of media left out of the latency figures (their max is\n"
                        "reported apart as warmup_latency_ms_max)")
    p.add_argument("--loss-limit", type=float, default=1.0)
    p.add_argument("--p99-limit", type=float, default=20.0)
    p.add_argument("--bots-per-proc", type=int, default=250,
                   help="bots per hype-bot process (whole channels; one media thread each)")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--bots-cpu", type=int, default=1)
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--server-cpu-quota", type=float, default=0,
                   help="limit the server to this %% of one core (cgroup CPU quota, 10 ms period), "
                        "so the bots can saturate it: capacity per core = rate / (quota/100)")
    p.add_argument("--nice", type=int, default=0,
                   help="nice value for servers and bots alike (e.g. -10 on a shared machine;\n"
                        "negative values need root)")
    p.add_argument("--hype-workers", type=int, default=1)
    p.add_argument("--hype-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for hype serve, e.g. HYPE_GATEWAY_MAX_FRAME_BYTES=4194304")
    p.add_argument("--janus-event-loops", type=int, default=1,
                   help="Janus general.event_loops: 1 (default here) = one loop thread, as hype\n"
                        "runs one SFU worker on its one core; 0 = Janus's default, a thread per\n"
                        "handle (slower on one core: see docs/benchmarks.md)")
    p.add_argument("--port-base", type=int, default=0, help="0: free ports")
    p.add_argument("--rtp-ports", default="41000-44999", help="Janus rtp_port_range")
    p.add_argument("--out", default=None)
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--hype-bin", default=os.environ.get(
        "HYPE_BIN", os.path.join(REPO, "build/release/src/app/hype")))
    p.add_argument("--bot-bin", default=os.environ.get(
        "HYPE_BOT_BIN", os.path.join(REPO, "build/release/src/bot/hype-bot")))
    a = p.parse_args()
    a.rtp_ports = [int(x) for x in a.rtp_ports.split("-")]
    servers.NICE = a.nice
    kinds = [k for k in a.servers.split(",") if k]
    if a.no_pin is False and (os.cpu_count() or 1) < 2:
        a.no_pin = True
    if a.scenario == "smoke":
        a.duration = min(a.duration, 3)
        a.warmup = min(a.warmup, 0.5)
    a.out = a.out or os.path.join("/tmp", "hype-voicebench-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(a.out, exist_ok=True)
    m = machine()
    cmd = " ".join(["bench/voice/run.sh"] + sys.argv[1:])
    print(f"command: {cmd}")
    print(f"machine: {m['nproc']} cores, {m['cpu_model']}, load {m['loadavg_at_start'][0]:.2f}")
    if "janus" in kinds:
        j = servers.JanusServer(free_port(), a.rtp_ports, None)
        m["janus_version"] = j.version()
        j.stop()

    results, caps, ramps = [], {}, {}
    scen = ["one-channel", "channels", "ramp"] if a.scenario == "all" else [a.scenario]
    for s in scen:
        for k in kinds:
            if s == "one-channel":
                results.append(run_case(k, s, 1, a.users, a.speakers or 3, a))
            elif s == "channels":
                results.append(run_case(k, s, a.channels, a.channel_size, a.speakers or 2, a))
            elif s == "smoke":
                results.append(run_case(k, s, 1, 4, 2, a))
            else:
                steps, cap = ramp(k, a)
                results += steps
                caps[k] = cap
                ramps[k] = steps
    summary = markdown(results, caps, a, m)
    print(summary)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(f"command: {cmd}\n\n" + summary)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"command": cmd, "machine": m, "results": results, "capacity_users": caps}, f,
                  indent=1)
    if not a.no_plots and shutil.which("gnuplot"):
        for f in plots.make(results, a.out):
            print(f"plot: {f}")
    print(f"results: {a.out}")
    bad = [r for r in results if r["connected"] < r["users"] and r["scenario"] != "ramp"]
    if a.scenario == "smoke":
        bad += [r for r in results if r["loss_pct"] > 1 or not r["latency_ms"]["samples"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
