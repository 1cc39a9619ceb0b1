#!/usr/bin/env bash
# Video (screen share) benchmark, hype's SFU and Janus side by side: see bench/video/run.py --help.
exec python3 "$(dirname "$0")/run.py" "$@"
