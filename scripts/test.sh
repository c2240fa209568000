#!/usr/bin/env bash
# Quick start #2: set up what is missing, then run the whole test suite (same release build
# as the demo: nothing is compiled twice).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/anchor/target}"
cargo test --release --locked "$@"
