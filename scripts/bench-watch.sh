#!/usr/bin/env bash
# `/api/watch` at scale (issue 13; BENCHMARKS.md, "Watch streams and operators' tools"): RSS per
# idle stream and change delivery to N streams, RUNS times for each N, with the load average.
# Builds the daemon and `examples/bench_watch` (PROFILE, default release), then runs
# `bench_watch --streams N` against the daemon on 127.0.0.140 (clients from 127.0.0.141–149).
# Usage: scripts/bench-watch.sh [streams ...]      (default: 1000 10000)
# RUNS=3 runs per N; CHANGES=10 changes per run; SIDECAR_BIN=path runs that daemon binary
# instead (to compare builds); EXTRA_ENV="VAR=value …" adds daemon settings; CLIENT_ARGS adds
# arguments of bench_watch (e.g. --via-actix: each stream is a connection's second request, so
# actix-web serves it instead of the front door).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
RUNS=${RUNS:-3}
CHANGES=${CHANGES:-10}
cargo build --profile "$PROFILE" --locked --quiet --bin sidecar --example bench_watch
BIN=${SIDECAR_BIN:-$TARGET_DIR/$PROFILE/sidecar}
STREAMS=("$@")
[ ${#STREAMS[@]} -eq 0 ] && STREAMS=(1000 10000)
for streams in "${STREAMS[@]}"; do
  for run in $(seq 1 "$RUNS"); do
    echo "== $streams streams, run $run; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086 # CLIENT_ARGS and EXTRA_ENV are lists of words
    "$TARGET_DIR/$PROFILE/examples/bench_watch" --sidecar "$BIN" --streams "$streams" \
      --changes "$CHANGES" ${CLIENT_ARGS:-} ${EXTRA_ENV:-}
    echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
