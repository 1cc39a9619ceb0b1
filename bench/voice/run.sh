#!/usr/bin/env bash
# Voice benchmark, hype's SFU and Janus side by side: see bench/voice/run.py --help.
exec python3 "$(dirname "$0")/run.py" "$@"
