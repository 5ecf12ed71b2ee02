#!/usr/bin/env bash
# Idle CPU of the metrics (issue 13; BENCHMARKS.md, "Watch streams and operators' tools"): one
# binary, 200 static services (as scripts/bench-api.sh), idle for WINDOW seconds once all are
# ALIVE, in two set-ups run alternately so that a busy machine slows both alike:
#   plain    — no statsd, nobody scrapes;
#   exported — SIDECAR_STATS_ADDR set (a UDP sink that counts the datagrams) and GET /metrics
#              every 15 s, as Prometheus would.
# CPU is utime+stime from /proc/<pid>/stat over the window. BASE_BIN=path adds a third set-up,
# `base`: that binary (e.g. built at the commit before the metrics), plain.
# Usage: scripts/bench-idle.sh SIDECAR_BIN OKSERVER_BIN [rounds] [window-seconds]
# Node on 127.0.0.156, check target on 127.0.0.157, statsd sink on 127.0.0.158.
set -euo pipefail
BIN=$1 OKSERVER=$2 ROUNDS=${3:-3} WINDOW=${4:-60}
IP=127.0.0.156 PORT=17856 TARGET=127.0.0.157:18857 STATSD=127.0.0.158:18125
work=$(mktemp -d)
cleanup() { kill "${node_pid:-}" "${target_pid:-}" "${sink_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$OKSERVER" "$TARGET" & target_pid=$!
echo 0 >"$work/datagrams"
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.158", 18125))
n = 0
while True:
    s.recv(65536); n += 1
    open(sys.argv[1] + ".new", "w").write(str(n)); os.replace(sys.argv[1] + ".new", sys.argv[1])
' "$work/datagrams" & sink_pid=$!
python3 "$(dirname "$0")/static-services.py" "$work/static.json" "$TARGET" 127.0.0.157
# shellcheck source=scripts/bench-node.sh
. "$(dirname "$0")/bench-node.sh"
ticks() { awk '{print $14+$15}' "/proc/$node_pid/stat"; }
run() { # label binary [VAR=value…]
  local label=$1 bin=$2; shift 2
  start_bench_node "$bin" 17956 "$@"
  local t0 scrapes=0 start=$SECONDS
  local sent0
  t0=$(ticks); sent0=$(cat "$work/datagrams")
  while [ $((SECONDS - start)) -lt "$WINDOW" ]; do
    if [ "$label" = exported ] && [ $(( (SECONDS - start) % 15 )) -eq 0 ]; then
      curl -sf "http://$IP:$PORT/metrics" >/dev/null && scrapes=$((scrapes + 1))
    fi
    sleep 1
  done
  local cpu
  cpu=$(awk -v a="$t0" -v w="$WINDOW" '{printf "%.2f %.3f", ($14+$15-a)/100, ($14+$15-a)/w}' "/proc/$node_pid/stat")
  echo "$label cpu_s=${cpu% *} pct=${cpu#* } scrapes=$scrapes datagrams=$(( $(cat "$work/datagrams") - sent0 )) load=$(cut -d' ' -f1 /proc/loadavg)"
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true
}
for _ in $(seq 1 "$ROUNDS"); do
  run plain "$BIN"
  run exported "$BIN" SIDECAR_STATS_ADDR=$STATSD
  if [ -n "${BASE_BIN:-}" ]; then run base "$BASE_BIN"; fi
done
