#!/usr/bin/env bash
# Runs the chat benchmarks at smoke size (seconds each) so CI notices when they rot:
# bench/gateway/fanout.mjs --smoke (20 clients, 20 msg/s, 3 s, no loss allowed) and
# bench/history/reads.sh --smoke (SQLite, 300 messages, wrk at 8 connections for 2 s) and
# bench/voice/run.sh --scenario smoke (hype's SFU and Janus, 4 hype-bots, 3 s each; Janus is
# skipped with a notice when the janus binary is missing) and bench/video/run.sh --scenario
# smoke (one 360p VP8 stream, 3 viewers, 3 s on each; about 12 s; skipped without ffmpeg).
# Exits non-zero if either fails. HYPE_BIN overrides the server binary; extra arguments
# (e.g. --db postgres) go to both benchmarks.
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d bench/gateway/node_modules ]]; then
  (cd bench/gateway && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
fail=0
echo "== bench smoke: gateway fan-out"
if ! node bench/gateway/fanout.mjs --smoke "$@"; then echo "bench smoke: gateway fan-out FAILED" >&2; fail=1; fi
echo "== bench smoke: history reads"
if ! bench/history/reads.sh --smoke "$@"; then echo "bench smoke: history reads FAILED" >&2; fail=1; fi
echo "== bench smoke: voice (hype vs janus)"
voice_servers=hype,janus
command -v janus >/dev/null 2>&1 || { voice_servers=hype; echo "bench smoke: janus not installed, voice smoke runs hype only"; }
voice_out=$(mktemp -d /tmp/hype-voice-smoke.XXXXXX)
if ! bench/voice/run.sh --scenario smoke --servers "$voice_servers" --no-plots --out "$voice_out"; then
  echo "bench smoke: voice FAILED" >&2; fail=1
fi
rm -rf "$voice_out"
echo "== bench smoke: video (hype vs janus)"
if command -v ffmpeg >/dev/null 2>&1; then
  video_out=$(mktemp -d /tmp/hype-video-smoke.XXXXXX)
  if ! bench/video/run.sh --scenario smoke --servers "$voice_servers" --out "$video_out"; then
    echo "bench smoke: video FAILED" >&2; fail=1
  fi
  rm -rf "$video_out"
else
  echo "bench smoke: ffmpeg not installed, video smoke skipped"
fi
((fail)) && exit 1
echo "bench smoke: ok"
