#!/usr/bin/env bash
# End-to-end tests of the web client in headless Chromium against a real `hype serve`.
#   HYPE_BIN=/path/to/hype tests/e2e/run.sh [test files...]   (default build/release/src/app/hype)
# Builds nothing: web/dist must exist (cd web && npm run build). Starts coturn (when
# installed) and the server on free ports under a temp dir, runs `node --test`, and stops
# everything it started by PID.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# Default: the binary scripts/build release makes.
export HYPE_BIN=${HYPE_BIN:-$ROOT/build/release/src/app/hype}
[[ -x "$HYPE_BIN" ]] || { echo "run.sh: $HYPE_BIN is not executable (set HYPE_BIN)" >&2; exit 2; }
[[ -f "$ROOT/web/dist/index.html" ]] || { echo "run.sh: web/dist is missing: (cd web && npm ci && npm run build)" >&2; exit 2; }
[[ -d "$HERE/node_modules/playwright-core" ]] || (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

TMP=$(mktemp -d /tmp/hype-e2e.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do
      # PID 1 may not reap: a zombie counts as stopped.
      st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)
      [[ "$st" == X || "$st" == Z ]] && break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 && -f "$TMP/server.log" ]]; then echo "--- last server log lines ---"; tail -n 40 "$TMP/server.log"; fi
  [[ -n "${KEEP_TMP:-}" ]] || rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT INT TERM

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

PORT=$(free_port)
export HYPE_URL="http://127.0.0.1:$PORT"

if command -v turnserver >/dev/null 2>&1 && [[ -z "${HYPE_E2E_NO_TURN:-}" ]]; then
  TURN_PORT=$(free_port)
  TURN_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  RELAY_MIN=$((40000 + RANDOM % 20000))
  cat > "$TMP/turnserver.conf" <<CONF
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=$TURN_PORT
min-port=$RELAY_MIN
max-port=$((RELAY_MIN + 200))
realm=hype.test
use-auth-secret
static-auth-secret=$TURN_SECRET
no-tls
no-dtls
no-cli
allow-loopback-peers
fingerprint
userdb=$TMP/turndb
log-file=$TMP/turn.log
simple-log
pidfile=$TMP/turn.pid
CONF
  turnserver -c "$TMP/turnserver.conf" >/dev/null 2>&1 &
  PIDS+=($!)
  export HYPE_TURN_SECRET="$TURN_SECRET" HYPE_TURN_URLS="turn:127.0.0.1:$TURN_PORT"
  export HYPE_E2E_TURN="turn:127.0.0.1:$TURN_PORT"
fi

mkdir -p "$TMP/data"
HYPE_SERVER_PORT=$PORT HYPE_SERVER_DATA_DIR="$TMP/data" HYPE_SERVER_WEB_ROOT="$ROOT/web/dist" \
  HYPE_LIMITS_ENABLED=false HYPE_AUTH_ARGON2_MEM_KIB=8192 HYPE_AUTH_ARGON2_OPS=1 \
  "$HYPE_BIN" serve > "$TMP/server.log" 2>&1 &
PIDS+=($!)
SERVER_PID=$!

for _ in $(seq 300); do
  if curl -fsS "$HYPE_URL/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "run.sh: server exited"; cat "$TMP/server.log"; exit 1; }
  sleep 0.1
done
curl -fsS "$HYPE_URL/readyz" >/dev/null || { echo "run.sh: server not ready"; exit 1; }
echo "run.sh: hype on $HYPE_URL${HYPE_E2E_TURN:+, coturn on $HYPE_E2E_TURN}"

cd "$HERE"
if [[ $# -gt 0 ]]; then FILES=("$@"); else FILES=(*.test.mjs); fi
# Default reporter: spec on a terminal, TAP ("# pass N") otherwise (scripts/test counts those).
node --test --test-concurrency=1 "${FILES[@]}"
