#!/usr/bin/env python3
"""The SFU's own effect on an impaired path (issue 19): hype-bots reach hype's SFU through
hype-netlab (the SFU announces the relay's port), once per network profile. The relay knows
what it did (its own loss per direction, its delay model); the bots measure what they got
(send stamp to arrival, and loss by sequence number, both legs: speaker -> relay -> SFU ->
relay -> listener). What the SFU adds is the difference: latency p50 minus twice the
profile's one-way delay, loss minus the loss the relay inflicted on the two legs.

  bench/netlab/sfu_vs_relay.py [--profiles clean,wifi,mobile,bursty] [--channels 3]
                               [--size 10] [--speakers 2] [--duration 20]
"""
import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "voice"))
import servers  # noqa: E402

ONE_WAY_DELAY_MS = {"clean": 0, "wifi": 25, "mobile": 50, "bursty": 50}


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_profile(a, profile):
    sfu_port = free_udp_port()
    relay_port = free_udp_port()
    while relay_port == sfu_port:
        relay_port = free_udp_port()
    http = servers.free_port() if hasattr(servers, "free_port") else None
    if http is None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        http = s.getsockname()[1]
        s.close()
    srv = servers.HypeServer(a.hype_bin, http, sfu_port, None, 1,
                             {"HYPE_SFU_ANNOUNCED_PORT": str(relay_port)})
    relay = subprocess.Popen([a.netlab_bin, "--listen", f"127.0.0.1:{relay_port}",
                              "--upstream", f"127.0.0.1:{sfu_port}", "--up", profile,
                              "--down", profile, "--seed", "19", "--max-flows", "4096"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = relay.stdout.readline()
        if '"listening"' not in line:
            raise RuntimeError("hype-netlab did not start: " + line + relay.stderr.read())
        bots = subprocess.run([a.bot_bin, "--server", srv.url, "--json", "--channels",
                               str(a.channels), "--count", str(a.size), "--speakers",
                               str(a.speakers), "--duration", str(a.duration), "--warmup", "2",
                               "--join-timeout", "60"],
                              capture_output=True, text=True, timeout=a.duration + 180)
        report = json.loads(bots.stdout.strip().splitlines()[-1])
    finally:
        relay.terminate()
        out, _ = relay.communicate(timeout=10)
        srv.stop()
    final = next((json.loads(l) for l in out.splitlines() if '"final"' in l), {})
    up, down = final.get("up", {}), final.get("down", {})
    up_loss = up.get("lost", 0) / up["in"] if up.get("in") else 0.0
    down_loss = down.get("lost", 0) / down["in"] if down.get("in") else 0.0
    # A packet reaches a listener if neither its speaker's uplink nor its listener's downlink
    # lost it (the down direction carries RTCP too, close enough at these rates).
    relay_path_loss = 100 * (1 - (1 - up_loss) * (1 - down_loss))
    return {
        "profile": profile, "users": a.channels * a.size,
        "connected": report.get("connected"),
        "latency_p50_ms": report.get("latency_ms_p50"), "latency_p99_ms": report.get("latency_ms_p99"),
        "two_way_delay_ms": 2 * ONE_WAY_DELAY_MS.get(profile.split(",")[0], 0),
        "bot_loss_pct": round(report.get("loss_pct", 0), 3),
        "relay_up_loss_pct": round(100 * up_loss, 3), "relay_down_loss_pct": round(100 * down_loss, 3),
        "relay_path_loss_pct": round(relay_path_loss, 3),
        "relay_cpu_us_per_packet": final.get("cpu_us_per_packet"),
        "errors": report.get("errors", [])[:3],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--profiles", default="clean,wifi,mobile,bursty")
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--size", type=int, default=10)
    p.add_argument("--speakers", type=int, default=2)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--hype-bin", default=os.path.join(REPO, "build/release/src/app/hype"))
    p.add_argument("--bot-bin", default=os.path.join(REPO, "build/release/src/bot/hype-bot"))
    p.add_argument("--netlab-bin", default=os.path.join(REPO, "build/release/src/netlab/hype-netlab"))
    a = p.parse_args()
    print("command:", " ".join(["bench/netlab/sfu_vs_relay.py"] + sys.argv[1:]))
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} cores, {model}, kernel {platform.release()}, load {os.getloadavg()[0]:.1f}")
    print("| profile | users | latency p50 / p99 ms | of which the relay's delay (2 x one way) | SFU + stack p50 ms | loss at the bots % | relay's loss up / down / path % | SFU's loss % |")
    print("|---|---|---|---|---|---|---|---|")
    for profile in a.profiles.split(";") if ";" in a.profiles else a.profiles.split(","):
        r = run_profile(a, profile)
        added = (r["latency_p50_ms"] or 0) - r["two_way_delay_ms"]
        print(f"| {profile} | {r['connected']}/{r['users']} | {r['latency_p50_ms']:.2f} / {r['latency_p99_ms']:.2f} | "
              f"{r['two_way_delay_ms']} | {added:.2f} | {r['bot_loss_pct']:.2f} | "
              f"{r['relay_up_loss_pct']:.2f} / {r['relay_down_loss_pct']:.2f} / {r['relay_path_loss_pct']:.2f} | "
              f"{r['bot_loss_pct'] - r['relay_path_loss_pct']:.2f} |", flush=True)
        if r["errors"]:
            print("  errors:", r["errors"])


if __name__ == "__main__":
    main()
