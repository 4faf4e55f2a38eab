#!/usr/bin/env bash
# `make run`: a local Prefect server (state under .prefect/, analytics off), the rlrf
# deployments served from this checkout, one `rlrf/full` run watched to the end, a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RLRF_BIN:-.venv/bin}
RECIPE=${RECIPE:-tiny}
PORT=${PREFECT_PORT:-$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
export PREFECT_HOME="${RLRF_PREFECT_HOME:-$PWD/.prefect}"
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_UI_URL="http://127.0.0.1:$PORT"
export PREFECT_LOGGING_LEVEL=${PREFECT_LOGGING_LEVEL:-INFO}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export RLRF_RECIPE="$RECIPE"
mkdir -p "$PREFECT_HOME"
LOG="$PREFECT_HOME/logs"; mkdir -p "$LOG"

server_pid=""; serve_pid=""; watchdogs=()
stop() {  # a child started with setsid leads its own process group: stop the group
  kill -- "-$1" 2>/dev/null || kill "$1" 2>/dev/null || true
}
cleanup() {
  # stop `serve` before the server it talks to
  [ -n "$serve_pid" ] && stop "$serve_pid" && wait "$serve_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && stop "$server_pid" && wait "$server_pid" 2>/dev/null || true
  for w in "${watchdogs[@]}"; do kill "$w" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
# kill -9 of this script (or of `make` above it) runs no trap: a watchdog per child
# outlives both and stops the child once either is gone.
script_pid=$$; make_pid=$PPID
watchdog() {
  while kill -0 "$script_pid" 2>/dev/null && kill -0 "$make_pid" 2>/dev/null; do sleep 1; done
  stop "$1"
  kill "$script_pid" 2>/dev/null || true
}

echo "starting the Prefect server on 127.0.0.1:$PORT (log: $LOG/server.log)"
setsid $BIN/prefect server start --host 127.0.0.1 --port "$PORT" >"$LOG/server.log" 2>&1 &
server_pid=$!
watchdog "$server_pid" </dev/null >/dev/null 2>&1 &
watchdogs+=($!)
for _ in $(seq 1 120); do
  $BIN/python - "$PREFECT_API_URL" <<'PY' && break
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/health", timeout=2)
except Exception:
    sys.exit(1)
PY
  kill -0 "$server_pid" 2>/dev/null || { echo "the Prefect server exited; see $LOG/server.log" >&2; exit 1; }
  sleep 1
done

echo "serving the rlrf deployments (log: $LOG/serve.log)"
setsid $BIN/python -m flows.serve >"$LOG/serve.log" 2>&1 &
serve_pid=$!
watchdog "$serve_pid" </dev/null >/dev/null 2>&1 &
watchdogs+=($!)
for _ in $(seq 1 120); do
  $BIN/prefect deployment inspect rlrf/full >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || { echo "serve exited; see $LOG/serve.log" >&2; exit 1; }
  sleep 1
done

status=0
$BIN/prefect deployment run "rlrf/${DEPLOYMENT:-full}" --watch -p recipe="$RECIPE" ${FORCE:+-p force=true} || status=$?
echo
$BIN/rlrf summary --recipe "$RECIPE" || true
cat <<MSG

The run is $( [ $status -eq 0 ] && echo finished || echo FAILED ) (flow-run logs: $LOG/serve.log).
Prefect UI:  PREFECT_HOME=$PWD/.prefect .venv/bin/prefect server start --host 127.0.0.1 --port $PORT
             then open http://127.0.0.1:$PORT
SQL:         .venv/bin/rlrf sql "SELECT split, count(*) FROM samples GROUP BY split" --recipe $RECIPE
             .venv/bin/rlrf views --recipe $RECIPE      (leaderboard, funnel_summary, ood_gap, reward_hacks, ...)
             or duckdb artifacts/$RECIPE/rlrf.duckdb   (one catalogue per recipe)
Report:      the HTML report path is printed in the eval section above.
MSG
exit $status
