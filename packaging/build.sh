#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle dist/photoclip/ and smoke-test it headless.
#
#   packaging/build.sh                      # CPU-only torch from download.pytorch.org (small bundle)
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 packaging/build.sh   # CUDA build
#   PHOTOCLIP_SYSTEM_SITE=1 packaging/build.sh   # reuse the torch/PySide6/... already installed
#                                                # in $PYTHON (offline builds; bundles that torch)
# Environment: PYTHON (default python3), BUILD_DIR (default build), DIST_DIR (default dist),
#              TORCH_INDEX_URL (default the CPU index), PHOTOCLIP_SYSTEM_SITE (0/1),
#              SKIP_SMOKE (0/1).
# Works on Linux and macOS; on Windows run it from Git Bash (venv layout differs, handled below).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
BUILD_DIR="${BUILD_DIR:-build}"
DIST_DIR="${DIST_DIR:-dist}"
TORCH_INDEX_URL="${TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}"
PHOTOCLIP_SYSTEM_SITE="${PHOTOCLIP_SYSTEM_SITE:-0}"
SKIP_SMOKE="${SKIP_SMOKE:-0}"
VENV="$BUILD_DIR/venv"

step() { printf '\n==> %s\n' "$*"; }
SECONDS=0

step "virtual environment in $VENV"
venv_args=()
if [[ "$PHOTOCLIP_SYSTEM_SITE" == 1 ]]; then
    venv_args+=(--system-site-packages)
fi
if [[ ! -d "$VENV" ]]; then
    "$PYTHON" -m venv "${venv_args[@]}" "$VENV"
fi
if [[ -x "$VENV/bin/python" ]]; then
    VPY="$VENV/bin/python"
else
    VPY="$VENV/Scripts/python.exe"  # Windows
fi

step "dependencies"
if [[ "$PHOTOCLIP_SYSTEM_SITE" != 1 && -n "$TORCH_INDEX_URL" ]]; then
    # Install torch first from the chosen index so that 'pip install .' does not pull the
    # default (on Linux: CUDA, several GB) build from PyPI.
    "$VPY" -m pip install --index-url "$TORCH_INDEX_URL" torch torchvision
fi
"$VPY" -m pip install "$ROOT" pyinstaller

step "pyinstaller"
"$VPY" -m PyInstaller --noconfirm --clean \
    --distpath "$DIST_DIR" --workpath "$BUILD_DIR/pyinstaller" \
    packaging/photoclip.spec

BUNDLE="$DIST_DIR/photoclip"
if [[ -x "$BUNDLE/photoclip.exe" ]]; then EXE="$BUNDLE/photoclip.exe"; else EXE="$BUNDLE/photoclip"; fi

if [[ "$SKIP_SMOKE" != 1 ]]; then
    step "smoke test (headless)"
    export QT_QPA_PLATFORM=offscreen
    SMOKE_HOME="$(mktemp -d)"
    trap 'rm -rf "$SMOKE_HOME"' EXIT
    # A throwaway library and model cache: the self-test must not touch the user's data,
    # and must not need the network (it builds a tiny random model).
    export PHOTOCLIP_HOME="$SMOKE_HOME/library"
    export XDG_CACHE_HOME="$SMOKE_HOME/cache"
    "$EXE" --version
    "$EXE" --self-test
fi

step "bundle"
du -sh "$BUNDLE"
if [[ -d "$DIST_DIR/photoclip.app" ]]; then du -sh "$DIST_DIR/photoclip.app"; fi
echo "built in ${SECONDS}s"
