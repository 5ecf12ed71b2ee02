#!/usr/bin/env bash
# The cost of the metrics (issue 13): /api/services.json throughput and idle CPU of two
# builds of the binary, run alternately so that a busy machine slows both alike.
# Usage: scripts/bench-metrics.sh BASELINE_BINARY NEW_BINARY OKSERVER_BINARY [rounds] [seconds]
# Build both with the same profile (e.g. `cargo build --release --bin sidecar --example
# okserver`, once at the commit before the metrics and once after). 200 static services,
# like scripts/bench-api.sh; the node on 127.0.0.116, the check target on 127.0.0.117 (IP=…
# and TARGET_IP=… choose others).
# Needs `wrk`. Prints one line per run, then a Markdown table of medians.
set -euo pipefail
BASE=$1 NEW=$2 OKSERVER=$3 ROUNDS=${4:-3} DURATION=${5:-10}
IP=${IP:-127.0.0.116} TARGET_IP=${TARGET_IP:-127.0.0.117}
PORT=17786 TARGET=$TARGET_IP:18086
work=$(mktemp -d)
cleanup() { kill "${node_pid:-}" "${target_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$OKSERVER" "$TARGET" & target_pid=$!
python3 "$(dirname "$0")/static-services.py" "$work/static.json" "$TARGET" "$TARGET_IP"
# shellcheck source=scripts/bench-node.sh
. "$(dirname "$0")/bench-node.sh"
run() { # binary label
  start_bench_node "$1" 17987
  t0=$(awk '{print $14+$15}' /proc/$node_pid/stat); sleep 20
  idle=$(awk -v a="$t0" '{printf "%.2f", ($14+$15-a)/20}' /proc/$node_pid/stat)
  rps=$(wrk -t2 -c8 -d"${DURATION}s" "http://$IP:$PORT/api/services.json" | awk '/Requests\/sec/ {print $2}')
  echo "$2 rps=$rps idle_cpu_pct=$idle"
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true
}
for _ in $(seq 1 "$ROUNDS"); do run "$BASE" baseline; run "$NEW" metrics; done | tee "$work/runs"
echo
echo "| build | /api/services.json req/s (median, runs) | idle CPU % of a core (median) |"
echo "|---|---|---|"
for label in baseline metrics; do
  rps=$(awk -v l=$label '$1==l {sub("rps=","",$2); print $2}' "$work/runs" | sort -n | tr '\n' ' ')
  med=$(tr ' ' '\n' <<<"$rps" | grep . | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  idle=$(awk -v l=$label '$1==l {sub("idle_cpu_pct=","",$3); print $3}' "$work/runs" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "| $label | $med ($rps) | $idle |"
done
