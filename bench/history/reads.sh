#!/usr/bin/env bash
# History-read benchmark (issue #3): GET /api/v1/channels/:id/messages under wrk.
#
# For each database backend: starts `hype serve` (SQLite in a temp data dir, or a throwaway
# PostgreSQL from scripts/services/postgres.sh), registers a user, creates a guild and posts
# MESSAGES messages into #general (curl --parallel), then runs wrk with the user's
# Authorization header against two request shapes at each connection count:
#   latest  GET .../messages?limit=50                (the newest page: what a client opens)
#   before  GET .../messages?limit=50&before=<id>     (a random cursor anywhere in history,
#                                                      via a wrk Lua script: scrollback)
# and prints requests/s, latency p50/p99 and the server's CPU (plus PostgreSQL's) per run.
# With two or more cores the server (and PostgreSQL) are pinned to CPU 0 and wrk to CPU 1.
#
# Usage: bench/history/reads.sh [--db sqlite|postgres|both] [--messages 10000]
#          [--conns "8 32 64"] [--duration 10] [--threads 1] [--no-pin] [--smoke]
#          [--out FILE.tsv] [--perf PREFIX]
# --perf: perf record (cpu-clock, DWARF call graphs) of the server during the "latest" run at
#   the largest connection count, into PREFIX-<db>.data.
# --smoke: SQLite, 300 messages, 8 connections, 2 s per run; exits non-zero on any error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

db=both messages=10000 conns="8 32 64" duration=10 threads=1 pin=1 smoke=0 out="" perf_prefix=""
bin=${HYPE_BIN:-$repo/build/release/src/app/hype}
server_cpu=0 bench_cpu=1
while (($#)); do
  case "$1" in
    --db) db=$2; shift ;;
    --messages) messages=$2; shift ;;
    --conns) conns=$2; shift ;;
    --duration) duration=$2; shift ;;
    --threads) threads=$2; shift ;;
    --no-pin) pin=0 ;;
    --bin) bin=$2; shift ;;
    --out) out=$2; shift ;;
    --perf) perf_prefix=$2; shift ;;
    --smoke) smoke=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if ((smoke)); then
  [[ $db == both ]] && db=sqlite
  messages=300 conns=8 duration=2
fi
case "$db" in both) dbs="sqlite postgres" ;; sqlite|postgres) dbs=$db ;; *) echo "--db sqlite|postgres|both" >&2; exit 2 ;; esac
for tool in wrk curl python3; do
  command -v $tool >/dev/null || { echo "reads.sh: $tool is missing (scripts/bootstrap installs it)" >&2; exit 2; }
done
[[ -x $bin ]] || { echo "reads.sh: no server binary at $bin (build first, or --bin)" >&2; exit 2; }
(($(nproc) >= 2)) || pin=0
on_server_cpu() { if ((pin)); then taskset -c $server_cpu "$@"; else "$@"; fi; }
on_bench_cpu() { if ((pin)); then taskset -c $bench_cpu "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/hype-bench-history.XXXXXX)
server_pid="" pg_dir=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      [[ $(awk '{print $3}' /proc/$server_pid/stat 2>/dev/null || echo Z) == Z ]] && break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
  if [[ -n $pg_dir ]]; then "$repo/scripts/services/postgres.sh" stop "$pg_dir" || true; rm -rf "$pg_dir"; pg_dir=""; fi
}
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

log() { echo "[reads $(date +%T)] $*" >&2; }
clk=$(getconf CLK_TCK)
# utime+stime in clock ticks of a pid; tree_ticks adds its direct children (PostgreSQL
# backends under the postmaster). Processes may exit while we read: skip them.
cpu_ticks_py='import os,sys
root=sys.argv[1]; tree=len(sys.argv)>2; t=0
for p in ([d for d in os.listdir("/proc") if d.isdigit()] if tree else [root]):
    try: s=open("/proc/%s/stat"%p).read()
    except OSError: continue
    f=s[s.rindex(")")+2:].split()
    if p==root or f[1]==root: t+=int(f[11])+int(f[12])
print(t)'
ticks() { python3 -c "$cpu_ticks_py" "$1"; }
tree_ticks() { python3 -c "$cpu_ticks_py" "$1" tree; }
# wrk prints latencies as 812.00us / 1.23ms / 1.02s: to milliseconds.
to_ms() { python3 -c 'import sys,re
v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s|m)$", v)
n,u=float(m.group(1)),m.group(2)
print(round(n*{"us":0.001,"ms":1,"s":1000,"m":60000}[u],3))' "$1"; }

api() { # method path [json-body]
  local args=(-sS -X "$1" "$base/api/v1$2" -H 'content-type: application/json')
  [[ -n ${token:-} ]] && args+=(-H "authorization: Bearer $token")
  [[ $# -ge 3 ]] && args+=(--data "$3")
  curl "${args[@]}"
}
json() { python3 -c 'import sys,json; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

failures=0
results=()
run_db() {
  local dbname=$1 dburl=""
  local data="$work/data-$dbname"
  mkdir -p "$data"
  if [[ $dbname == postgres ]]; then
    # Not under $work (mode 700): postgres.sh hands its own directory to the postgres user.
    pg_dir=$(mktemp -d /tmp/hype-bench-pg.XXXXXX)
    dburl=$(on_server_cpu "$repo/scripts/services/postgres.sh" start "$pg_dir") || { log "postgres did not start"; return 1; }
    pg_pid=$(head -1 "$pg_dir/data/postmaster.pid") || return 1
    log "postgres $dburl (pid $pg_pid)"
  fi
  local srv=("$bin" serve)
  ((pin)) && srv=(taskset -c $server_cpu "${srv[@]}")
  # env and taskset exec: $! is the server's own pid (for /proc/<pid>/stat).
  env HYPE_SERVER_PORT=0 HYPE_SERVER_DATA_DIR="$data" HYPE_LIMITS_ENABLED=false \
    HYPE_AUTH_ARGON2_MEM_KIB=8192 HYPE_AUTH_ARGON2_OPS=1 HYPE_AUTH_ACCESS_TTL=86400 \
    HYPE_LOG_LEVEL="${HYPE_LOG_LEVEL:-warn}" ${dburl:+HYPE_DATABASE_URL=$dburl} \
    "${srv[@]}" >"$work/server-$dbname.out" 2>"$work/server-$dbname.err" &
  server_pid=$!
  base=""
  for _ in $(seq 300); do
    base=$(grep -o 'running at http://[^ ]*' "$work/server-$dbname.out" 2>/dev/null | sed 's/running at //' || true)
    [[ -n $base ]] && break
    kill -0 $server_pid 2>/dev/null || { cat "$work/server-$dbname.err" >&2; return 1; }
    sleep 0.1
  done
  [[ -n $base ]] || { log "server did not start"; return 1; }
  log "$dbname server $base (pid $server_pid, database ${dburl:-sqlite in $data})"

  token=""
  # (run_db is called in an || list, where set -e does not apply: check each step.)
  token=$(api POST /auth/register '{"username":"reader","password":"correct horse battery"}' | json 'd["access_token"]') || return 1
  guild=$(api POST /guilds '{"name":"history"}' | json 'd["id"]') || return 1
  channel=$(api GET "/guilds/$guild/channels" | json '[c["id"] for c in d if c["kind"]=="text"][0]') || return 1

  # Seed: one curl, MESSAGES POSTs over 8 parallel connections (the [1-N] glob is an ignored
  # query parameter that makes curl repeat the request). ~100-character content.
  local t0=$SECONDS body='{"content":"history benchmark message: the quick brown fox jumps over the lazy dog, 0123456789."}'
  local codes
  codes=$(curl -sS --no-progress-meter -Z --parallel-max 8 -o /dev/null -w '%{http_code}\n' \
    -H 'content-type: application/json' -H "authorization: Bearer $token" --data "$body" \
    "$base/api/v1/channels/$channel/messages?seed=[1-$messages]" | sort | uniq -c)
  local created
  created=$(awk '$2 == 201 {print $1}' <<<"$codes")
  log "posted ${created:-0}/$messages messages in $((SECONDS - t0)) s"
  if [[ ${created:-0} -ne $messages ]]; then log "seeding failed: $codes"; failures=$((failures + 1)); return 1; fi

  # Cursors: every message id, walking back 100 at a time.
  : >"$work/ids"
  local before="" page n
  while :; do
    page=$(api GET "/channels/$channel/messages?limit=100${before:+&before=$before}" | json '"\n".join(m["id"] for m in d)')
    [[ -z $page ]] && break
    echo "$page" >>"$work/ids"
    before=$(tail -1 <<<"$page")
    n=$(wc -l <<<"$page")
    ((n < 100)) && break
  done
  log "$(wc -l <"$work/ids") ids for cursors"
  {
    echo 'local ids = {'
    sed 's/.*/"&",/' "$work/ids"
    echo '}'
    echo "local base = \"/api/v1/channels/$channel/messages?limit=50&before=\""
    # Seed per thread so threads do not replay the same sequence.
    echo 'math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)'
    echo 'request = function() return wrk.format("GET", base .. ids[math.random(#ids)]) end'
  } >"$work/before.lua"

  local c shape
  for shape in latest before; do
    for c in $conns; do
      local t=$threads
      ((t > c)) && t=$c
      local args=(-t"$t" -c"$c" -d"${duration}s" --latency -H "Authorization: Bearer $token")
      [[ $shape == before ]] && args+=(-s "$work/before.lua")
      local s0 p0=0 s1 p1=0
      s0=$(ticks $server_pid)
      [[ $dbname == postgres ]] && p0=$(tree_ticks "$pg_pid")
      local load
      load=$(cut -d' ' -f1 /proc/loadavg)
      local perf_pid=""
      if [[ -n $perf_prefix && $shape == latest && $c == "${conns##* }" ]]; then
        perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -o "$perf_prefix-$dbname.data" \
          -p "$server_pid" -- sleep "$duration" 2>"$work/perf.err" &
        perf_pid=$!
      fi
      on_bench_cpu wrk "${args[@]}" "$base/api/v1/channels/$channel/messages?limit=50" >"$work/wrk.out" 2>&1 || true
      [[ -n $perf_pid ]] && wait "$perf_pid"
      s1=$(ticks $server_pid)
      [[ $dbname == postgres ]] && p1=$(tree_ticks "$pg_pid")
      local rps p50 p99 non2xx errs
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
      p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
      p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
      non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.out")
      errs=$(grep -o 'Socket errors:.*' "$work/wrk.out" || true)
      if [[ -z $rps || -z $p50 ]]; then
        log "wrk failed:"; cat "$work/wrk.out" >&2; failures=$((failures + 1)); continue
      fi
      p50=$(to_ms "$p50") p99=$(to_ms "$p99")
      local scpu pcpu
      scpu=$(python3 -c "print(round(100*($s1-$s0)/$clk/$duration))")
      pcpu=$([[ $dbname == postgres ]] && python3 -c "print(round(100*($p1-$p0)/$clk/$duration))" || echo -)
      local row="$dbname	$shape	$c	$rps	$p50	$p99	$scpu	$pcpu	${non2xx:-0}	$load"
      results+=("$row")
      printf '%-8s %-6s c=%-3s %10s req/s  p50 %8s ms  p99 %8s ms  server %4s%%  pg %4s%%  non2xx %s  load %s %s\n' \
        $dbname $shape $c $rps $p50 $p99 $scpu $pcpu ${non2xx:-0} $load "$errs"
      if [[ -n $non2xx && $non2xx != 0 ]]; then failures=$((failures + 1)); fi
      if ((smoke)) && [[ -n $errs ]]; then failures=$((failures + 1)); fi
    done
  done
  if ! kill -0 $server_pid 2>/dev/null; then log "server died"; failures=$((failures + 1)); fi
  cleanup
}

log "nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\" load=\"$(cut -d' ' -f1-3 /proc/loadavg)\" pin=$pin messages=$messages conns=\"$conns\" duration=${duration}s threads=$threads"
for d in $dbs; do run_db "$d" || failures=$((failures + 1)); done

echo
echo "| db | request | connections | requests/s | p50 ms | p99 ms | server CPU % | PostgreSQL CPU % |"
echo "|---|---|---|---|---|---|---|---|"
for r in "${results[@]}"; do
  IFS=$'\t' read -r d s c rps p50 p99 scpu pcpu _ _ <<<"$r"
  echo "| $d | $s | $c | $rps | $p50 | $p99 | $scpu | $pcpu |"
done
if [[ -n $out ]]; then
  printf 'db\trequest\tconnections\trps\tp50_ms\tp99_ms\tserver_cpu_pct\tpg_cpu_pct\tnon2xx\tload1\n' >"$out"
  printf '%s\n' "${results[@]}" >>"$out"
fi
if ((failures)); then echo "reads.sh: $failures failure(s)" >&2; exit 1; fi
