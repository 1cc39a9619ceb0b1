#!/usr/bin/env bash
# Throwaway PostgreSQL 15 for tests: `postgres.sh start DIR [PORT]` prints a postgres:// URL,
# `postgres.sh stop DIR` stops it. Never touches a system cluster. fsync is off: tests only.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
bin=/usr/lib/postgresql/15/bin
run_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$dir"; fi
    chmod 755 "$dir"
    run_pg $bin/initdb -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1
    run_pg $bin/pg_ctl -D "$dir/data" -l "$dir/pg.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
      start >/dev/null
    run_pg $bin/psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE hype" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/hype"
    ;;
  stop)
    [[ -d "$dir/data" ]] && run_pg $bin/pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
