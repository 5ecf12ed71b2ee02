#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (Debian packages, only
# when missing), then the unit, integration and real-component tests and the doc tests.
# This is the README's test command; .ci/run calls it between the lints and the docs.
set -euo pipefail
cd "$(dirname "$0")/.."

.ci/install-deps
# Separate commands, not `a && b`: under `set -e` a failure inside an && list would not stop
# the script, and a failing test must fail the run.
cargo test --locked --all-targets --features fault-injection
cargo test --locked --doc
