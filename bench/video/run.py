#!/usr/bin/env python3
"""Video (screen share) benchmark, issue #14: hype's SFU and Janus 1.1.2's videoroom
forwarding one VP8 stream to N viewers, same machine, same hype-bot clients, same run.

Each case starts a fresh server pinned to --server-cpu (bench/voice/servers.py: hype with
one SFU worker; Janus with only videoroom + HTTP, ICE-lite, event_loops 1), then one
hype-bot process pinned to --bots-cpu: one streamer sending a pre-encoded VP8 clip
(bench/video/make_clip.sh, 1080p30 6 Mbps by default) in real time, and N watchers
(`--target hype`: a stream connection each, `watch`; `--target janus`: a subscriber handle
and PeerConnection each). Everyone joins first; the streamer starts when all are connected
(--go-file), so no join overlaps the measured media. Measured:
  server CPU     utime+stime of the server (/proc) over a window inside the media phase
                 (from --warmup s after the start to 0.3 s before the end);
  forwarded      media+RTX packets the watchers received / media seconds;
  core busy      non-idle time of the server's core (/proc/stat): also the kernel's softirq
                 work for the server's sends when it is handed to ksoftirqd, and any other
                 process there (a shared machine);
  CPU s / Mpkt   server CPU seconds per million forwarded packets;
  CPU / viewer   server CPU per viewer-second (ms of CPU per second of one viewer);
  loss           packets a watcher never got (gaps not filled by RTX within 1 s) / packets
                 the streamer sent x watchers;
  freezes        frame gaps over max(3 x mean interval, mean + 150 ms) (WebRTC's definition);
  pacing         --pace 0 (default): each frame's packets leave the streamer back to back
                 (a 1080p frame is ~20 packets, a keyframe far more), so the SFU fans out a
                 burst and the last viewer's copy of the last packet waits for all others;
                 --pace 2.5: packets spread at 2.5 x the clip's bitrate, as a browser's pacer.
  latency        watcher's kernel arrival time minus the send stamp the streamer put in the
                 packet's RTP padding (same process, same clock), media packets only, the
                 first --warmup s apart. Both SFUs forward the padding: every case checks
                 that no media packet arrived without its stamp.

Scenarios:
  viewers   one streamer, --viewers (10,50,100) watchers, every server in --servers per count
  capacity  hype (and Janus with --janus): fresh server per step, --ramp-start/--ramp-step
            viewers up to --ramp-max (300) or --time-limit (300 s), until loss > 0, p99 >
            --p99-limit (5 ms), a freeze or a watcher without frames; a failing step is tried
            --retries more times (a shared machine). Capacity = the largest passing count.
  smoke     hype and janus, 360p clip, 3 viewers, 3 s each (bench/smoke.sh)

Example: bench/video/run.sh --scenario viewers --viewers 10,50,100 --duration 15
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

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "voice"))
import servers  # noqa: E402


def log(*a):
    print(f"[videobench {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def machine():
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "loadavg_at_start": os.getloadavg(), "git_rev": rev,
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProc:
    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.connected = self.media_start = None
        self.stderr, self.stdout = [], ""
        self.t_err = threading.Thread(target=self._err, daemon=True)
        self.t_out = threading.Thread(target=self._out, daemon=True)
        self.t_err.start()
        self.t_out.start()

    def _err(self):
        for line in self.proc.stderr:
            if "hype-bot: connected" in line and self.connected is None:
                self.connected = time.time()
            elif "media start" in line and self.media_start is None:
                self.media_start = time.time()
            else:
                self.stderr.append(line)

    def _out(self):
        self.stdout = self.proc.stdout.read()

    def report(self):
        self.t_out.join()
        try:
            return json.loads(self.stdout.strip().splitlines()[-1])
        except Exception:
            return None


def start_server(kind, a):
    pin = None if a.no_pin else a.server_cpu
    if kind == "hype":
        env = dict(kv.split("=", 1) for kv in a.hype_env)
        return servers.HypeServer(a.hype_bin, free_port(), 0, pin, 1, env)
    return servers.JanusServer(free_port(), a.rtp_ports, pin, 1)


def run_case(kind, scenario, viewers, clip, a):
    log(f"{kind}: {scenario}: 1 streamer, {viewers} viewers, {a.duration} s")
    srv = start_server(kind, a)
    bot = None
    window = None
    try:
        pin = [] if a.no_pin else ["taskset", "-c", str(a.bots_cpu)]
        go = os.path.join(a.out, f".go-{kind}-{os.getpid()}")
        if os.path.exists(go):
            os.unlink(go)
        join_timeout = min(120, max(20, viewers * 0.2))
        cmd = pin + [a.bot_bin, "--video-clip", clip, "--stream", "--watch", "any",
                     "--watchers", str(viewers), "--duration", str(a.duration), "--json",
                     "--go-file", go, "--join-timeout", str(join_timeout),
                     "--warmup", str(a.warmup), "--pace", str(a.pace)] + srv.bot_args()
        bot = BotProc(cmd)
        deadline = time.time() + join_timeout + 60
        while time.time() < deadline and not bot.connected and bot.proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
        open(go, "w").close()
        t = time.time()
        while time.time() < t + 5 and not bot.media_start and bot.proc.poll() is None:
            time.sleep(0.02)
        os.unlink(go)
        if bot.media_start:
            # the streamer sends from media_start + 0.3 s for `duration` s
            w0 = bot.media_start + 0.3 + max(0.7, a.warmup)
            w1 = bot.media_start + 0.3 + a.duration - 0.3
            if w1 - w0 > 0.5:
                time.sleep(max(0, w0 - time.time()))
                c0, q0 = srv.cpu_seconds(), srv.runqueue_wait_seconds()
                k0 = core_busy_seconds(a.server_cpu)
                b0, t0 = _cpu(bot.proc.pid), time.time()
                time.sleep(max(0, w1 - time.time()))
                c1, q1 = srv.cpu_seconds(), srv.runqueue_wait_seconds()
                k1 = core_busy_seconds(a.server_cpu)
                b1, t1 = _cpu(bot.proc.pid), time.time()
                window = {"seconds": t1 - t0, "server_cpu_s": c1 - c0, "bots_cpu_s": b1 - b0,
                          "server_core_busy_s": k1 - k0,
                          "server_runqueue_wait_s": round(q1 - q0, 4),
                          "loadavg_1m": os.getloadavg()[0]}
        try:
            bot.proc.wait(timeout=a.duration + 120)
        except subprocess.TimeoutExpired:
            bot.proc.kill()
            bot.proc.wait()
        rep = bot.report()
        rss = srv.peak_rss_mb()
    finally:
        if bot and bot.proc.poll() is None:
            bot.proc.kill()
        srv.stop()
    return summarize(kind, scenario, viewers, a, rep, bot, window, rss)


def core_busy_seconds(cpu):
    """Non-idle time of one core (/proc/stat): the server's process plus what runs for it
    outside it (softirq work of its sends handed to ksoftirqd) and anything else there."""
    with open("/proc/stat") as fh:
        for ln in fh:
            if ln.startswith(f"cpu{cpu} "):
                v = [int(x) for x in ln.split()[1:]]
                return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _cpu(pid):
    try:
        return servers.proc_cpu_seconds(pid)
    except OSError:
        return 0.0


def summarize(kind, scenario, viewers, a, rep, bot, window, rss):
    res = {"server": kind, "scenario": scenario, "viewers": viewers, "duration_s": a.duration,
           "warmup_s": a.warmup, "window": window, "server_peak_rss_mb": round(rss, 1)}
    if not rep or not isinstance(rep.get("video"), dict):
        res["error"] = "no report: " + "".join(bot.stderr[-5:]).strip() if bot else "no bot"
        log(f"{kind}: {res['error']}")
        return res
    v = rep["video"]
    pub = v.get("publisher") or {}
    secs = a.duration
    sent = pub.get("packets_sent", 0)
    expected = sent * viewers
    res.update({
        "connected": rep.get("connected", 0), "errors": rep.get("errors", [])[:5],
        "watchers_with_frames": v["watchers_with_frames"],
        "clip": pub.get("clip"), "in_pps": round(sent / secs, 1),
        "in_mbps": round(pub.get("bytes_sent", 0) * 8 / secs / 1e6, 2),
        "forwarded_pps": round(v["packets"] / secs, 1),
        "forwarded_mbps": round(v["bytes"] * 8 / secs / 1e6, 1),
        "packets_lost": v["packets_lost"],
        "loss_pct": round(100.0 * v["packets_lost"] / expected, 4) if expected else 100.0,
        "rtx_received": v["rtx_received"], "nacks_sent": v["nacks_sent"],
        "freezes": v["freezes"], "frames": v["frames"], "frames_sent": pub.get("frames_sent", 0),
        "keyframe_requests": pub.get("plis_received", 0) + pub.get("firs_received", 0),
        "latency_ms": {"p50": v.get("latency_ms_p50"), "p99": v.get("latency_ms_p99"),
                       "max": v.get("latency_ms_max"), "samples": v.get("latency_samples", 0),
                       "warmup_max": v.get("warmup_latency_ms_max")},
        "packets_unstamped": v.get("packets_unstamped"),
        "pace_queue_max": pub.get("pace_queue_max"),
    })
    if window and window["seconds"] > 0:
        util = window["server_cpu_s"] / window["seconds"]
        res["server_cpu_pct"] = round(100 * util, 1)
        res["bots_cpu_pct"] = round(100 * window["bots_cpu_s"] / window["seconds"], 1)
        res["server_core_busy_pct"] = round(100 * window["server_core_busy_s"] / window["seconds"], 1)
        if res["forwarded_pps"]:
            res["server_cpu_s_per_mpkt"] = round(util / res["forwarded_pps"] * 1e6, 3)
        res["server_cpu_ms_per_viewer_s"] = round(1000 * util / viewers, 3)
    log(f"{kind}: {line(res)}")
    return res


def f(v, d=2):
    return "-" if v is None else f"{v:.{d}f}"


def line(r):
    lat = r.get("latency_ms", {})
    w = r.get("window") or {}
    return (f"viewers {r['viewers']} connected {r.get('connected')} with frames "
            f"{r.get('watchers_with_frames')} in {r.get('in_pps', 0):.0f} pkt/s "
            f"fwd {r.get('forwarded_pps', 0):.0f} pkt/s ({r.get('forwarded_mbps', 0):.0f} Mbps) "
            f"cpu {f(r.get('server_cpu_pct'), 1)}% ({f(r.get('server_cpu_s_per_mpkt'))} s/Mpkt, "
            f"{f(r.get('server_cpu_ms_per_viewer_s'), 3)} ms/viewer-s, core busy "
            f"{f(r.get('server_core_busy_pct'), 1)}%) "
            f"bots {f(r.get('bots_cpu_pct'), 1)}% lat p50/p99/max {f(lat.get('p50'))}/"
            f"{f(lat.get('p99'))}/{f(lat.get('max'))} ms lost {r.get('packets_lost')} "
            f"freezes {r.get('freezes')} unstamped {r.get('packets_unstamped')} "
            f"rq-wait {f(w.get('server_runqueue_wait_s'), 3)} s load {f(w.get('loadavg_1m'), 1)}")


def passed(r, a):
    lat = (r.get("latency_ms") or {}).get("p99")
    return ("error" not in r and r["connected"] == r["viewers"] + 1
            and r["watchers_with_frames"] == r["viewers"] and r["packets_lost"] == 0
            and r["freezes"] == 0 and lat is not None and lat <= a.p99_limit)


def capacity(kind, clip, a, t_start):
    steps, cap = [], None
    n = a.ramp_start
    while n <= a.ramp_max and time.time() - t_start < a.time_limit:
        for attempt in range(1 + a.retries):
            r = run_case(kind, "capacity", n, clip, a)
            r["attempt"] = attempt + 1
            steps.append(r)
            if passed(r, a) or time.time() - t_start >= a.time_limit:
                break
        if not passed(r, a):
            break
        cap = n
        n += a.ramp_step
    return steps, cap


def markdown(results, caps, a, m, cmd):
    out = [f"command: {cmd}", f"streamer pacing: {a.pace or 'off (bursts)'}",
           f"machine: {m['nproc']} cores, {m['cpu_model']}, kernel {m['kernel']}, load at start "
           f"{m['loadavg_at_start'][0]:.2f}, git {m['git_rev']}, {m['date_utc']}", "",
           "| scenario | server | viewers | in pkt/s (Mbps) | fwd pkt/s (Mbps) | server CPU % "
           "| server core busy % | CPU s / Mpkt | CPU ms / viewer-s | bots CPU % | latency p50 / p99 / max ms "
           "| lost | freezes | with frames |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            out.append(f"| {r['scenario']} | {r['server']} | {r['viewers']} | failed: "
                       f"{r['error'][:80]} ||||||||||")
            continue
        lat = r["latency_ms"]
        out.append(f"| {r['scenario']} | {r['server']} | {r['viewers']} | {r['in_pps']:.0f} "
                   f"({r['in_mbps']:.1f}) | {r['forwarded_pps']:.0f} ({r['forwarded_mbps']:.0f}) "
                   f"| {f(r.get('server_cpu_pct'), 1)} | {f(r.get('server_core_busy_pct'), 1)} "
                   f"| {f(r.get('server_cpu_s_per_mpkt'))} "
                   f"| {f(r.get('server_cpu_ms_per_viewer_s'), 3)} | {f(r.get('bots_cpu_pct'), 1)} "
                   f"| {f(lat['p50'])} / {f(lat['p99'])} / {f(lat['max'])} | {r['packets_lost']} "
                   f"| {r['freezes']} | {r['watchers_with_frames']}/{r['viewers']} |")
    ratios = []
    for sc in dict.fromkeys(r["scenario"] for r in results if r["scenario"] != "capacity"):
        for n in dict.fromkeys(r["viewers"] for r in results if r["scenario"] == sc):
            h = [r for r in results if (r["scenario"], r["viewers"], r["server"]) == (sc, n, "hype")]
            j = [r for r in results if (r["scenario"], r["viewers"], r["server"]) == (sc, n, "janus")]
            if not h or not j or "error" in h[0] or "error" in j[0]:
                continue
            h, j = h[0], j[0]

            def ratio(k, hv=h, jv=j):
                x, y = hv.get(k), jv.get(k)
                return f"{x / y:.2f}" if x is not None and y else "-"
            lh, lj = h["latency_ms"], j["latency_ms"]
            ratios.append(
                f"{sc} {n} viewers, hype/janus: CPU per forwarded packet {ratio('server_cpu_s_per_mpkt')}, "
                f"CPU per viewer-second {ratio('server_cpu_ms_per_viewer_s')}, "
                f"latency p99 {f(lh['p99'])}/{f(lj['p99'])} ms "
                f"({f(lh['p99'] / lj['p99']) if lj['p99'] else '-'}), "
                f"lost {h['packets_lost']}/{j['packets_lost']}, freezes {h['freezes']}/{j['freezes']}")
    if ratios:
        out += [""] + ratios
    for k, c in caps.items():
        out.append(f"capacity ({k}): {c if c is not None else 'below the first step'} viewers of one "
                   f"stream (largest step with no loss, no freeze and p99 <= {a.p99_limit} ms)")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenario", default="viewers", choices=["viewers", "capacity", "smoke"])
    p.add_argument("--servers", default="hype,janus", help="viewers scenario")
    p.add_argument("--janus", action="store_true", help="capacity: Janus too")
    p.add_argument("--viewers", default="10,50,100")
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--fps", default="30")
    p.add_argument("--bitrate", default="6M")
    p.add_argument("--pace", type=float, default=0,
                   help="the streamer paces its packets at this multiple of the clip's bitrate\n"
                        "(a browser's pacer: 2.5); 0: each frame's packets back to back, the\n"
                        "burst an SFU must fan out at once")
    p.add_argument("--ramp-start", type=int, default=50)
    p.add_argument("--ramp-step", type=int, default=50)
    p.add_argument("--ramp-max", type=int, default=300)
    p.add_argument("--time-limit", type=float, default=300, help="capacity: seconds per server")
    p.add_argument("--retries", type=int, default=1)
    p.add_argument("--p99-limit", type=float, default=5.0)
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--bots-cpu", type=int, default=1)
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--hype-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--rtp-ports", default="41000-44999", help="Janus rtp_port_range")
    p.add_argument("--out", default=None)
    p.add_argument("--hype-bin", default=os.environ.get(
        "HYPE_BIN", os.path.join(REPO, "build/release/src/app/hype")))
    p.add_argument("--bot-bin", default=os.environ.get(
        "HYPE_BOT_BIN", os.path.join(REPO, "build/release/src/bot/hype-bot")))
    a = p.parse_args()
    a.rtp_ports = [int(x) for x in a.rtp_ports.split("-")]
    if (os.cpu_count() or 1) < 2:
        a.no_pin = True
    kinds = [k for k in a.servers.split(",") if k]
    if a.scenario == "smoke":
        a.duration, a.warmup = min(a.duration, 3), min(a.warmup, 0.5)
        a.size, a.bitrate = "640x360", "1M"
    a.out = a.out or os.path.join("/tmp", "hype-videobench-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(a.out, exist_ok=True)
    cache = os.environ.get("HYPE_CLIP_CACHE", os.path.join("/tmp", "hype-clips"))
    secs = "3" if a.scenario == "smoke" else "10"
    clip = subprocess.run(
        [os.path.join(REPO, "bench/video/make_clip.sh"), os.path.join(a.out, "clip.ivf"),
         "--size", a.size, "--fps", a.fps, "--bitrate", a.bitrate, "--seconds", secs],
        env={**os.environ, "HYPE_CLIP_CACHE": cache}, check=True, capture_output=True,
        text=True).stdout.strip().splitlines()[-1]
    m = machine()
    cmd = " ".join(["bench/video/run.sh"] + sys.argv[1:])
    print(f"command: {cmd}")
    print(f"machine: {m['nproc']} cores, {m['cpu_model']}, load {m['loadavg_at_start'][0]:.2f}")
    print(f"clip: {a.size} {a.fps} fps {a.bitrate}, pace {a.pace or 'off (bursts)'}, server on "
          f"cpu {a.server_cpu}, bots on cpu {a.bots_cpu}", flush=True)

    results, caps = [], {}
    if a.scenario == "viewers":
        for n in [int(x) for x in a.viewers.split(",") if x]:
            for k in kinds:
                results.append(run_case(k, "viewers", n, clip, a))
    elif a.scenario == "smoke":
        for k in kinds:
            results.append(run_case(k, "smoke", 3, clip, a))
    else:
        for k in ["hype"] + (["janus"] if a.janus else []):
            steps, caps[k] = capacity(k, clip, a, time.time())
            results += steps
    summary = markdown(results, caps, a, m, cmd)
    print(summary)
    with open(os.path.join(a.out, "summary.md"), "w") as fh:
        fh.write(summary)
    with open(os.path.join(a.out, "results.json"), "w") as fh:
        json.dump({"command": cmd, "machine": m, "results": results, "capacity_viewers": caps},
                  fh, indent=1)
    print(f"results: {a.out}")
    bad = [r for r in results if "error" in r or r["packets_unstamped"]
           or (r["scenario"] != "capacity" and r["watchers_with_frames"] < r["viewers"])]
    if a.scenario == "smoke":
        bad += [r for r in results if "error" not in r
                and (r["packets_lost"] or not r["latency_ms"]["samples"])]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
