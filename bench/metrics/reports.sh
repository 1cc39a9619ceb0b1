#!/usr/bin/env bash
# The cost of client quality reports and of /metrics at voice load (issue 18): USERS hype-bots
# in SFU channels of 10 (2 speakers each), once sending quality reports every 10 s as browsers
# do and once sending none, one after the other in the same run. The server (one SFU worker)
# is pinned to core 0, the bots to core 1. Prints the server's CPU over the middle half of each
# run (utime+stime from /proc), the reports it accepted, one scrape's duration and size, and
# the number of series in /metrics (which must not grow with users: no per-user labels).
#   bench/metrics/reports.sh [USERS=600] [SECONDS=40]
set -euo pipefail
USERS=${1:-600}; DUR=${2:-40}
cd "$(dirname "$0")/../.."
echo "command: bench/metrics/reports.sh $USERS $DUR; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); git $(git rev-parse --short HEAD)"
HZ=$(getconf CLK_TCK)
run() {  # run REPORT_EVERY USERS -> one line
  local every=$1 users=$2
  local D PORT SP BP t0 t1 s0 s1
  D=$(mktemp -d); PORT=$((20000 + RANDOM % 20000))
  HYPE_SERVER_PORT=$PORT HYPE_SERVER_DATA_DIR=$D HYPE_LIMITS_ENABLED=false HYPE_AUTH_ARGON2_MEM_KIB=8192 \
    HYPE_AUTH_ARGON2_OPS=1 HYPE_LOG_LEVEL=warn HYPE_SFU_WORKERS=1 HYPE_VOICE_MODE=sfu \
    taskset -c 0 build/release/src/app/hype serve >$D/out 2>&1 &
  SP=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.1; done
  local channels=$(( (users + 9) / 10 ))
  taskset -c 1 build/release/src/bot/hype-bot --server http://127.0.0.1:$PORT --count 10 --channels $channels \
    --speakers 2 --duration "$DUR" --report-every "$every" --join-timeout 60 --json >$D/bot.json 2>$D/bot.err &
  BP=$!
  # Joins first (up to a minute for 1,000 bots), then the middle half of the media window.
  for _ in $(seq 600); do grep -q "media start" $D/bot.err 2>/dev/null && break; sleep 0.1; done
  sleep $((DUR / 4 + 1)); t0=$(awk '{print $14+$15}' /proc/$SP/stat); s0=$(date +%s.%N)
  sleep $((DUR / 2)); t1=$(awk '{print $14+$15}' /proc/$SP/stat); s1=$(date +%s.%N)
  local m0 m1
  m0=$(date +%s%N); curl -s http://127.0.0.1:$PORT/metrics >$D/metrics; m1=$(date +%s%N)
  wait $BP || true
  python3 - "$D" "$t0" "$t1" "$s0" "$s1" "$HZ" "$users" "$every" "$m0" "$m1" <<'PY'
import json, sys
d, t0, t1, s0, s1, hz, users, every, m0, m1 = sys.argv[1:]
cpu = (int(t1) - int(t0)) / int(hz) / (float(s1) - float(s0))
text = open(d + "/metrics").read()
series = [l for l in text.splitlines() if l and not l.startswith("#")]
def val(name):
    return sum(float(l.rsplit(" ", 1)[1]) for l in series if l.rsplit(" ", 1)[0] == name)
r = json.load(open(d + "/bot.json"))
accepted = val('voice_quality_reports_total{result="accepted"}')
print(f"users {users:>5} report_every {every:>3}: connected {r['connected']}, server cpu {cpu*100:5.1f}% of a core, "
      f"reports accepted {accepted:.0f} "
      f"(refused {r.get('quality_reports_refused', 0)}), loss obs {val('voice_packet_loss_ratio_count'):.0f}; "
      f"/metrics {len(series)} series, {len(text)} bytes, scrape {(int(m1)-int(m0))/1e6:.1f} ms")
PY
  kill $SP; wait $SP 2>/dev/null || true; rm -rf $D
}
for every in 10 0; do run $every "$USERS"; done
# Series count from 10 to 1,000 users (reports on): it must stay flat.
if [[ "${SERIES:-1}" == 1 ]]; then
  for u in 10 100 1000; do run 10 $u; done
fi
