#!/usr/bin/env bash
# Load benchmark of one node's HTTP API with 200 static services (issue 2 / BASELINE.md §2, §4).
# Builds the `dist` profile (release with LTO, what the Dockerfile ships), starts a check
# target and the node, waits until all 200 are ALIVE, then
# measures RSS and runs wrk against the API. Needs `wrk` (apt-get install wrk).
# Usage: scripts/bench-api.sh [duration-seconds]   (prints a Markdown table)
# PROFILE=release builds the release profile instead of dist; SIDECAR_BIN=path runs that
# binary instead of building one (to compare two builds under the same conditions);
# EXTRA_ENV="VAR=value …" adds settings (e.g. ENVOY_USE_GRPC_API=false).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
PORT=17777
TARGET=127.0.0.1:18080
work=$(mktemp -d)
cleanup() { kill "${node_pid:-}" "${target_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

PROFILE=${PROFILE:-dist}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --profile "$PROFILE" --locked --quiet --bin sidecar --example okserver
BIN=${SIDECAR_BIN:-$TARGET_DIR/$PROFILE/sidecar}
"$TARGET_DIR/$PROFILE/examples/okserver" "$TARGET" & target_pid=$!

python3 scripts/static-services.py "$work/static.json" "$TARGET"

env -i PATH="$PATH" SIDECAR_DISCOVERY=static STATIC_CONFIG_FILE="$work/static.json" \
  SIDECAR_ADVERTISE_IP=127.0.0.1 SIDECAR_HTTP_BIND_IP=127.0.0.1 SIDECAR_HTTP_PORT=$PORT \
  SIDECAR_HOSTNAME=bench HAPROXY_DISABLE=true SIDECAR_LOGGING_LEVEL=warn ${EXTRA_ENV:-} \
  "$BIN" 2>"$work/node.log" & node_pid=$!

alive() { curl -sf "http://127.0.0.1:$PORT/api/state.json" | grep -o '"Status":0' | wc -l; }
for _ in $(seq 1 100); do [ "$(alive)" -ge 200 ] && break; sleep 0.1; done
echo "services ALIVE: $(alive)"
rss() { awk '/VmRSS|VmHWM/ {printf "%s %s kB  ", $1, $2}' /proc/$node_pid/status; echo; }
ticks() { awk '{print $14+$15}' /proc/$node_pid/stat; }
idle_start=$(ticks)
sleep 30; echo "after 30 s: $(rss)"
idle=$(( $(ticks) - idle_start ))
echo "idle CPU over 30 s: $idle ticks = $(awk -v t="$idle" 'BEGIN {printf "%.2f", t / 30}') % of one core"

echo
echo "| endpoint | body bytes | req/s | p50 | p99 | max |"
echo "|---|---|---|---|---|---|"
for path in /api/services.json /api/state.json /api/services/svc-042.json; do
  bytes=$(curl -s "http://127.0.0.1:$PORT$path" | wc -c)
  out=$(wrk -t2 -c8 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$path")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  max=$(awk '/Latency/ {print $4; exit}' <<<"$out")
  echo "| $path | $bytes | $rps | $p50 | $p99 | $max |"
done
echo
echo "after load: $(rss)"
echo "node CPU ticks (utime+stime): $(awk '{print $14+$15}' /proc/$node_pid/stat)"
