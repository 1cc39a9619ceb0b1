#!/usr/bin/env python3
"""SFU cluster failover and rolling restart, measured with hype-bots (issue 16).

    bench/cluster/failover.py [--participants 50,200,500] [--channel-size 5] [--speakers 2]
                              [--bots-per-process 250] [--loopback] [--json FILE]
                              [--redis-restart] [--redis-outage SECONDS] [--no-kill-drain]

For each size P: a fresh cluster (scripts/cluster: Redis, PostgreSQL, an api+gateway node in
region eu, SFU nodes node-1 and node-2 in eu and node-3 in us, each in its own network
namespace as root), then about 2P bots in channels of --channel-size (2 speakers talking
without pause, the rest listening), so that the busier eu node carries about P of them.
Then, while they talk:
  1. kill -9 of the node with the most channels; the bots join again (sfu_failed) and
     reconnect wherever the channel went; the killed node is started again;
  2. a rolling restart: each node in turn drained (SIGTERM), started again;
  3. with --redis-restart: Redis killed and started again empty (the nodes ask their clients
     to write their voice states back: no gap expected);
  4. with --redis-outage S: Redis frozen (unreachable, its data kept) for S seconds, while a
     probe asks for a join into a new channel (503 expected) and again once it is back (the
     time until it works is reported).
Every bot reports each gap over 100 ms in what it hears, with its start; a gap belongs to
the event it starts near. Printed per event: bots affected, and p50/p99/max of the per-bot
longest gap. Also: how the channels spread over the nodes (placement by load, region
preference), the Redis commands and REST time of one join on the idle cluster (first into
a channel: placement; second), and the machine.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLUSTER = os.path.join(REPO, "scripts", "cluster")
BOT = os.environ.get("HYPE_BOT_BIN", os.path.join(REPO, "build", "release", "src", "bot", "hype-bot"))


def log(*a):
    print(f"[clusterbench {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


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
            "git_rev": rev, "date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%SZ")}


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


class Cluster:
    def __init__(self, d, loopback):
        self.dir = d
        self.loopback = loopback

    def run(self, *args, check=True):
        r = subprocess.run([CLUSTER, *args, "--dir", self.dir], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise SystemExit(f"scripts/cluster {' '.join(args)} failed:\n{r.stderr}")
        return r

    def up(self):
        self.run("down", check=False)
        self.run("up", "--log-level", "warn", *(["--loopback"] if self.loopback else []))
        with open(os.path.join(self.dir, "cluster.json")) as f:
            self.state = json.load(f)

    def status(self):
        """{node: {"channels": n, "participants": n, "region": r, "state": s}} from hype cluster status."""
        out = self.run("status", check=False).stdout
        nodes = {}
        for line in out.splitlines()[1:]:
            f = line.split()
            if len(f) >= 9 and f[0].startswith("node-"):
                nodes[f[0]] = {"region": f[1], "participants": int(f[3]), "channels": int(f[5]),
                               "state": f[-1]}
        return nodes

    def redis(self, *args):
        s = self.state
        return subprocess.run(["redis-cli", "-p", str(s["redis"]["port"]), "--no-auth-warning",
                               "-a", s["redis_password"], *args], capture_output=True,
                              text=True).stdout


class BotProc:
    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.media_start = None
        self.connected = None
        self.stderr = []
        self.stdout = ""
        threading.Thread(target=self._read_err, daemon=True).start()
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_out.start()

    def _read_err(self):
        for line in self.proc.stderr:
            if "hype-bot: connected" in line and self.connected is None:
                self.connected = time.time()
            elif "media start" in line and self.media_start is None:
                self.media_start = time.time() + 0.3  # the window starts 300 ms after the line
            else:
                self.stderr.append(line)

    def _read_out(self):
        self.stdout = self.proc.stdout.read()

    def report(self):
        self.proc.wait()
        self.t_out.join()
        try:
            return json.loads(self.stdout.strip().splitlines()[-1])
        except Exception:
            return None


def call(api, method, path, body=None, token=None):
    req = urllib.request.Request(api + "/api/v1" + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None


def join_costs(c, channels=20):
    """Redis commands and REST time of a voice join: the first into a channel (which places
    it) and the second (placed already), each over `channels` fresh channels, on the idle
    cluster. Commands counted with INFO commandstats around each join alone."""
    api = c.state["api"]["url"]
    users = []
    for i in range(2):
        r = call(api, "POST", "/auth/register", {"username": f"cost{i}_{int(time.time())}",
                                                 "password": "cluster-bench-password"})
        users.append(r["access_token"])
    g = call(api, "POST", "/guilds", {"name": "costs"}, users[0])
    inv = call(api, "POST", f"/guilds/{g['id']}/invites", {}, users[0])
    call(api, "POST", f"/invites/{inv['code']}", {}, users[1])
    chans = [call(api, "POST", f"/guilds/{g['id']}/channels", {"name": f"v{i}", "kind": "voice"},
                  users[0])["id"] for i in range(channels)]

    def calls():
        """(EVALs, every command): a script's own redis.call()s count as commands too."""
        out = c.redis("INFO", "commandstats")
        per = {l.split(":")[0]: int(l.split("calls=")[1].split(",")[0])
               for l in out.splitlines() if "calls=" in l}
        return per.get("cmdstat_eval", 0), sum(per.values())

    def decisions():
        """(count, sum s) of the API node's placement_decision_seconds histogram."""
        with urllib.request.urlopen(api + "/metrics", timeout=10) as r:
            text = r.read().decode()
        vals = {}
        for line in text.splitlines():
            for k in ("placement_decision_seconds_count", "placement_decision_seconds_sum"):
                if line.startswith(k + " "):
                    vals[k] = float(line.split()[-1])
        return vals.get("placement_decision_seconds_count", 0), vals.get("placement_decision_seconds_sum", 0)

    res = {"first": {"calls": [], "evals": [], "ms": []},
           "second": {"calls": [], "evals": [], "ms": []}}
    d0 = decisions()
    for ch in chans:
        for kind, tok in (("first", users[0]), ("second", users[1])):
            e0, c0 = calls()
            t = time.time()
            call(api, "POST", f"/voice/join/{ch}", {}, tok)
            res[kind]["ms"].append((time.time() - t) * 1000)
            e1, c1 = calls()
            res[kind]["evals"].append(e1 - e0)
            res[kind]["calls"].append(c1 - c0 - 1)  # the INFO itself counts once
    d1 = decisions()
    for tok in users:  # (each user is in the last channel only)
        call(api, "POST", f"/voice/leave/{chans[-1]}", {}, tok)
    # (Heartbeats and lease checks of the three nodes land in some windows: the p50 is the join.)
    out = {k: {"redis_evals_p50": pct(v["evals"], 0.5),
               "redis_commands_p50": pct(v["calls"], 0.5), "redis_commands_max": max(v["calls"]),
               "rest_ms_p50": round(pct(v["ms"], 0.5), 2), "rest_ms_p99": round(pct(v["ms"], 0.99), 2)}
           for k, v in res.items()}
    # Every join makes two decisions (checked before the state changes, then under the mode lock).
    n = d1[0] - d0[0]
    out["placement_decisions"] = int(n)
    out["placement_decision_ms_mean"] = round((d1[1] - d0[1]) / n * 1000, 3) if n else None
    return out


def run_size(a, participants):
    c = Cluster(a.dir, a.loopback)
    c.up()
    try:
        return run_on(c, a, participants)
    finally:
        c.run("down", check=False)


def run_on(c, a, participants):
    api = c.state["api"]["url"]
    bots_total = 2 * participants
    channels = max(2, round(bots_total / a.channel_size))
    # The schedule (seconds after the bots' media start): settle, kill, then one drain per node.
    settle, after_kill, per_drain = 4.0, 8.0, 7.0
    nodes = list(c.state["sfu"])
    # Then Redis: restarted empty, and frozen (unreachable) for --redis-outage seconds.
    redis_phases = (7.0 if a.redis_restart else 0) + (a.redis_outage + 7.0 if a.redis_outage else 0)
    if a.no_kill_drain:
        after_kill, per_drain = 0.0, 0.0
    duration = settle + after_kill + per_drain * len(nodes) + redis_phases + 3
    costs = join_costs(c)
    log(f"join costs on the idle cluster: {costs}")
    log(f"P={participants}: {channels} channels of {a.channel_size} ({bots_total} bots), "
        f"{duration:.0f} s of media")
    procs = []
    left = channels
    per_proc = max(1, a.bots_per_process // a.channel_size)
    while left > 0:
        n = min(per_proc, left)
        left -= n
        procs.append(BotProc([BOT, "--server", api, "--json", "--channels", str(n), "--count",
                              str(a.channel_size), "--speakers", str(a.speakers), "--continuous",
                              "--duration", f"{duration:.0f}", "--join-timeout", "60",
                              "--report-every", "0"]))
    end = time.time() + 180
    while any(p.media_start is None for p in procs) and time.time() < end:
        if any(p.proc.poll() is not None for p in procs):
            break
        time.sleep(0.1)
    if any(p.media_start is None for p in procs):
        for p in procs:
            p.proc.kill()
        raise SystemExit("bots did not start media:\n" + "".join(sum((p.stderr for p in procs), [])[-20:]) +
                         "\n".join(str(p.proc.returncode) + " " + p.stdout[-500:] for p in procs))
    t0 = max(p.media_start for p in procs)

    time.sleep(max(0, t0 + settle - time.time()))
    before = c.status()
    eu = {k: v for k, v in before.items() if v["region"] == "eu"}
    mean_eu = sum(v["channels"] for v in eu.values()) / max(1, len(eu))
    spread = {k: v["channels"] for k, v in before.items()}
    victim = max(eu, key=lambda k: eu[k]["channels"])
    events = []
    if not a.no_kill_drain:
        events.append(("kill", time.time(), victim, before[victim]["participants"]))
        c.run("kill", victim)
        log(f"killed {victim} ({before[victim]['participants']} participants, {before[victim]['channels']} channels)")
        time.sleep(2)
        c.run("start", victim)
        time.sleep(max(0, events[0][1] + after_kill - time.time()))
    for node in ([] if a.no_kill_drain else nodes):
        st = c.status()
        events.append(("drain", time.time(), node, st.get(node, {}).get("participants", 0)))
        t = time.time()
        c.run("drain", node)
        log(f"drained {node} ({st.get(node, {}).get('participants', 0)} participants) in {time.time() - t:.1f} s")
        c.run("start", node)
        time.sleep(max(0, events[-1][1] + per_drain - time.time()))
    if a.redis_restart:
        st = c.status()
        events.append(("redis_restart", time.time(), "redis", sum(v["participants"] for v in st.values())))
        c.run("redis", "restart")
        log("redis restarted empty")
        time.sleep(max(0, events[-1][1] + 7.0 - time.time()))
    if a.redis_outage:
        st = c.status()
        events.append(("redis_outage", time.time(), "redis", sum(v["participants"] for v in st.values())))
        refused = []
        stop_probe = threading.Event()

        def probe():  # a join into a new channel during the outage: 503 expected
            try:
                g = call(api, "POST", "/auth/register", {"username": f"probe{int(time.time())}",
                                                         "password": "cluster-bench-password"})
                tok = g["access_token"]
                guild = call(api, "POST", "/guilds", {"name": "probe"}, tok)
                ch = [x for x in call(api, "GET", f"/guilds/{guild['id']}/channels", None, tok)
                      if x["kind"] == "voice"][0]["id"]
            except Exception as e:  # registering needs no Redis; if it fails, say so
                refused.append(f"probe setup failed: {e}")
                return
            time.sleep(2)
            try:
                call(api, "POST", f"/voice/join/{ch}", {}, tok)
                refused.append("joined during the outage")
            except urllib.error.HTTPError as e:
                refused.append(e.code)
            stop_probe.wait()
            t = time.time()
            while time.time() - t < 20:
                try:
                    call(api, "POST", f"/voice/join/{ch}", {}, tok)
                    refused.append(f"joined {time.time() - t:.1f} s after Redis came back")
                    call(api, "POST", f"/voice/leave/{ch}", {}, tok)
                    return
                except urllib.error.HTTPError:
                    time.sleep(0.2)
            refused.append("no join within 20 s after Redis came back")

        th = threading.Thread(target=probe, daemon=True)
        th.start()
        c.run("redis", "freeze", str(a.redis_outage))
        stop_probe.set()
        th.join()
        log(f"redis unreachable for {a.redis_outage} s; probe join: {refused}")
        events[-1] = events[-1] + (refused,)
        time.sleep(7.0)

    reports = [(p, p.report()) for p in procs]
    with open(os.path.join(a.dir, f"bots-{participants}.json"), "w") as f:  # the raw reports
        json.dump([{"media_start": p.media_start, "events": events, "report": r, "stderr": p.stderr[-50:]}
                   for p, r in reports], f)
    after = c.status()
    errors = []
    per_event = [{"event": e[0], "node": e[2], "participants_on_node": e[3], "gaps": []} for e in events]
    for e, pe in zip(events, per_event):
        if len(e) > 4:
            pe["probe_join"] = e[4]
    connected = reconnects = moves = 0
    for p, r in reports:
        if r is None:
            errors.append("a bot process printed no report: " + "".join(p.stderr[-5:]))
            continue
        errors += r["errors"]
        connected += r["connected"]
        reconnects += r["reconnects"]
        moves += r["moves"]
        for b in r["per_bot"]:
            worst = [0.0] * len(events)
            for at_ms, ms in b["gaps"]:
                start = p.media_start + at_ms / 1000
                for i, e in enumerate(events):
                    t = e[1]
                    # An outage's window is the outage itself plus 5 s.
                    span = 5 + (a.redis_outage if e[0] == "redis_outage" else 0)
                    if t - 0.3 <= start <= t + span:
                        worst[i] = max(worst[i], ms)
            for i, w in enumerate(worst):
                if w > 0:
                    per_event[i]["gaps"].append(w)
    for e in per_event:
        g = e.pop("gaps")
        e.update({"bots_with_gap_over_100ms": len(g), "gap_ms_p50": pct(g, 0.5),
                  "gap_ms_p99": pct(g, 0.99), "gap_ms_max": max(g) if g else None})
    return {"participants_target": participants, "bots": bots_total, "channels": channels,
            "connected": connected, "reconnects": reconnects, "moves": moves,
            "spread_before_kill": spread, "eu_max_over_mean": max(eu[k]["channels"] for k in eu) / mean_eu if mean_eu else None,
            "us_channels": sum(v["channels"] for v in before.values() if v["region"] != "eu"),
            "join_costs": costs,
            "events": per_event, "status_at_end": after, "errors": errors[:10]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--participants", default="50,200,500")
    p.add_argument("--channel-size", type=int, default=5)
    p.add_argument("--speakers", type=int, default=2)
    p.add_argument("--bots-per-process", type=int, default=250)
    p.add_argument("--dir", default="/tmp/hype-cluster-bench")
    p.add_argument("--loopback", action="store_true", help="no network namespaces")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--redis-restart", action="store_true",
                   help="after the drains: Redis killed and restarted empty")
    p.add_argument("--redis-outage", type=float, default=0,
                   help="after the drains: Redis frozen (unreachable) for this many seconds")
    p.add_argument("--no-kill-drain", action="store_true", help="skip the kill and the drains")
    a = p.parse_args()
    out = {"command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
           "machine": machine(), "runs": []}
    for n in [int(x) for x in a.participants.split(",") if x]:
        out["runs"].append(run_size(a, n))
        r = out["runs"][-1]
        log(f"P={n}: " + "; ".join(
            f"{e['event']} {e['node']} ({e['participants_on_node']} on it): {e['bots_with_gap_over_100ms']} bots "
            f"with a gap > 100 ms, p50 {e['gap_ms_p50']} p99 {e['gap_ms_p99']} max {e['gap_ms_max']} ms"
            for e in r["events"]))
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
