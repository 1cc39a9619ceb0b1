#!/usr/bin/env bash
# Makes a pre-encoded VP8 clip (IVF) for hype-bot --video-clip: ffmpeg's testsrc2 pattern
# encoded by libvpx in real-time mode at a fixed bitrate, a keyframe every 2 s.
#
#   bench/video/make_clip.sh OUT.ivf [--size 1920x1080] [--fps 30] [--bitrate 6M] [--seconds 10]
#
# Cached by parameters: the clip is encoded into OUT's directory under a name made of them
# (e.g. clip-1920x1080-30fps-6M-10s.ivf) and OUT is a symlink to it, so tests and benchmarks
# that ask for the same clip encode it once. HYPE_CLIP_CACHE overrides the cache directory.
# Prints OUT's path. A 640x360 3 s clip takes about a second on one core.
set -euo pipefail

usage() { sed -n '2,9p' "$0" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
out=$1
shift
size=1920x1080 fps=30 bitrate=6M seconds=10
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --bitrate) bitrate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $size =~ ^[0-9]+x[0-9]+$ && $fps =~ ^[0-9]+$ && $seconds =~ ^[0-9]+$ &&
   $bitrate =~ ^[0-9]+[kKM]?$ ]] || usage
command -v ffmpeg >/dev/null || { echo "make_clip: ffmpeg not installed" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
cache=${HYPE_CLIP_CACHE:-$(cd "$(dirname "$out")" && pwd)}
mkdir -p "$cache"
clip="$cache/clip-$size-${fps}fps-$bitrate-${seconds}s.ivf"
if [[ ! -s $clip ]]; then
  tmp="$clip.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  # -deadline realtime -cpu-used 8: the encoder settings of a live screen share; min == max
  # bitrate keeps the rate flat; -g: a keyframe every 2 s, as a sender answering no PLIs.
  ffmpeg -hide_banner -loglevel error -nostdin -y \
    -f lavfi -i "testsrc2=size=$size:rate=$fps" -t "$seconds" \
    -c:v libvpx -deadline realtime -cpu-used 8 -b:v "$bitrate" -minrate "$bitrate" \
    -maxrate "$bitrate" -bufsize "$bitrate" -g $((fps * 2)) -keyint_min $((fps * 2)) \
    -auto-alt-ref 0 -lag-in-frames 0 -error-resilient 1 -threads 2 -f ivf "$tmp"
  mv "$tmp" "$clip"
fi
if [[ $(cd "$(dirname "$out")" && pwd)/$(basename "$out") != "$clip" ]]; then
  ln -sfn "$clip" "$out"
fi
echo "$out"
