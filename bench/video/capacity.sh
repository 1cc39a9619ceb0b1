#!/usr/bin/env bash
# One 1080p30 6 Mbps VP8 stream (bench/video/make_clip.sh) and N hype-bot watchers through our
# SFU (one worker): the server pinned to core 0, the bots to core 1. Prints the server's CPU
# (utime+stime from /proc over the middle half of the run), forwarded packets/s, CPU per
# forwarded packet, and what the watchers saw (frames, loss, freezes, time to first frame).
# Needs build/release (hype, hype-bot) and ffmpeg. Hype only: no Janus side by side yet.
#   bench/video/capacity.sh 150 [20]
set -euo pipefail
N=${1:?usage: bench/video/capacity.sh WATCHERS [SECONDS]}; DUR=${2:-20}
cd "$(dirname "$0")/../.."
CLIP=$(bench/video/make_clip.sh "${TMPDIR:-/tmp}/hype-capacity-1080p.ivf" --size 1920x1080 --fps 30 --bitrate 6M --seconds 10 | tail -1)
echo "command: bench/video/capacity.sh $N $DUR; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
D=$(mktemp -d); PORT=$((20000 + RANDOM % 20000))
HYPE_SERVER_PORT=$PORT HYPE_SERVER_DATA_DIR=$D HYPE_LIMITS_ENABLED=false HYPE_AUTH_ARGON2_MEM_KIB=8192 HYPE_AUTH_ARGON2_OPS=1 \
  HYPE_LOG_LEVEL=warn HYPE_SFU_WORKERS=1 HYPE_VOICE_MODE=p2p taskset -c 0 build/release/src/app/hype serve >$D/out 2>&1 &
SP=$!
for i in $(seq 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.1; done
ticks() { awk '{print $14+$15}' /proc/$SP/stat; }
taskset -c 1 build/release/src/bot/hype-bot --server http://127.0.0.1:$PORT --video-clip "$CLIP" --stream --watch any --watchers $N --duration $DUR --json >$D/bot.json 2>$D/bot.err &
BP=$!
sleep $((DUR/4 + 3)); t0=$(ticks); s0=$(date +%s.%N)
sleep $((DUR/2)); t1=$(ticks); s1=$(date +%s.%N)
wait $BP || true
HZ=$(getconf CLK_TCK)
python3 - "$D/bot.json" "$t0" "$t1" "$s0" "$s1" "$HZ" "$N" <<'PY'
import json,sys
r=json.load(open(sys.argv[1])); v=r["video"]
t0,t1,s0,s1,hz,n=int(sys.argv[2]),int(sys.argv[3]),float(sys.argv[4]),float(sys.argv[5]),int(sys.argv[6]),int(sys.argv[7])
cpu=(t1-t0)/hz/(s1-s0)
pub=v["publisher"]; secs=pub["stream_seconds"]
pps_in=pub["packets_sent"]/secs
fwd=v["packets"]/secs
print(f"watchers {n}: server cpu {cpu*100:.1f}% of a core; in {pps_in:.0f} pkt/s, forwarded {fwd:.0f} pkt/s ({fwd*1200*8/1e6:.0f} Mbps); cpu per forwarded packet {cpu/fwd*1e6:.2f} us; with_frames {v['watchers_with_frames']}/{v['watchers']}, lost {v['packets_lost']}, freezes {v['freezes']}, first frame p50 {v['first_frame_ms_p50']} ms")
PY
kill $SP; wait $SP 2>/dev/null || true; rm -rf $D
