#!/usr/bin/env bash
# Quick start #2: set up what is missing, then run the whole test suite (same release build
# as the demo: nothing is compiled twice).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/anchor/target}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --release --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite.
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
