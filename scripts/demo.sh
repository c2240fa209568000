#!/usr/bin/env bash
# Quick start #1: set up what is missing, then put the sample show on air.
# HLS: out/live/index.m3u8 (ffplay out/live/index.m3u8), recording: out/recordings/*.mp4.
# Pass another script or flags after it: scripts/demo.sh scripts/demo-en.yaml --seconds 60
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/anchor/target}"
script=${1:-scripts/demo.yaml}; shift || true
exec "$CARGO_TARGET_DIR/release/anchor" run "$script" "$@"
