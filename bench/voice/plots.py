"""PNG plots of bench/voice results with gnuplot: latency CDF per scenario (both servers)
and server CPU vs users (every case, one line per server)."""

import os
import subprocess


def _cdf(hist):
    total = sum(c for _, c in hist)
    acc, pts = 0, []
    for b, c in hist:
        acc += c
        pts.append(((b * 10 + 5) / 1000.0, acc / total))
    return pts


def make(results, out):
    files = []
    scenarios = dict.fromkeys(r["scenario"] for r in results if r["scenario"] != "ramp")
    for scen in scenarios:
        rs = [r for r in results if r["scenario"] == scen and r["latency_hist_10us"]]
        if not rs:
            continue
        plots = []
        for r in rs:
            dat = os.path.join(out, f"cdf-{scen}-{r['server']}.dat")
            with open(dat, "w") as f:
                for x, y in _cdf(r["latency_hist_10us"]):
                    f.write(f"{x} {y}\n")
            plots.append(f"'{dat}' using 1:2 with lines lw 2 title '{r['server']} "
                         f"({r['users']} users)'")
        png = os.path.join(out, f"latency-cdf-{scen}.png")
        script = f"""set terminal pngcairo size 800,500
set output '{png}'
set title 'Added latency (bot send to bot receive), {scen}'
set xlabel 'latency (ms, log scale)'
set ylabel 'fraction of packets'
set logscale x
set grid
set key bottom right
plot {', '.join(plots)}
"""
        if _gnuplot(script):
            files.append(png)
    by_server = {}
    for r in results:
        if r.get("server_cpu_pct") is not None:
            by_server.setdefault(r["server"], []).append((r["users"], r["server_cpu_pct"],
                                                           r["scenario"]))
    ramp_only = any(s == "ramp" for v in by_server.values() for _, _, s in v)
    if by_server:
        plots = []
        for kind, pts in by_server.items():
            if ramp_only:
                pts = [p for p in pts if p[2] == "ramp"]
            dat = os.path.join(out, f"cpu-{kind}.dat")
            with open(dat, "w") as f:
                for u, c, _ in sorted(pts):
                    f.write(f"{u} {c}\n")
            plots.append(f"'{dat}' using 1:2 with linespoints lw 2 title '{kind}'")
        png = os.path.join(out, "cpu-vs-users.png")
        script = f"""set terminal pngcairo size 800,500
set output '{png}'
set title 'Server CPU vs voice users ({'ramp' if ramp_only else 'all cases'}, one core)'
set xlabel 'users'
set ylabel 'server CPU (% of one core)'
set grid
set key top left
set yrange [0:*]
plot {', '.join(plots)}
"""
        if _gnuplot(script):
            files.append(png)
    return files


def _gnuplot(script):
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    return r.returncode == 0
