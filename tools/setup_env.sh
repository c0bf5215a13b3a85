#!/usr/bin/env bash
# Sets up .venv/ in the repo root with the pinned OpenMMLab stack and se_plugin.
#
# Idempotent: a second run checks a stamp and returns in seconds. mmcv 2.1.0
# has no wheel for today's torch, so it is built once from the PyPI sdist with
# its compiled ops and the wheel is kept in $SE_PLUGIN_CACHE (default
# ~/.cache/se_plugin); later set-ups on the machine install that wheel.
#
# The stack's known breakages on torch 2.14 / numpy 2, and what this does:
# - mmcv's setup.py passes -std=c++17; torch 2.14's ATen needs C++20: patched.
# - isolated builds skip mmcv's ops silently: built with --no-build-isolation.
# - mmcv's setup.py and mmengine's `mmdet::` config bases import
#   pkg_resources: setuptools < 82 (< 81 keeps it quiet about deprecation).
# - numpy 2.4 removed np.in1d (mmpretrain): numpy pinned to 1.26.
# - `transformers` breaks `import mmpretrain.models`: never installed, and
#   removed if something brought it.
#
# CUDA ops are built when a GPU is present or FORCE_CUDA=1 (also without a
# GPU); all 58 CUDA sources of mmcv 2.1.0 compile unpatched with CUDA 13.0
# (tools/misc/README.md). The CUDA build keeps its folder in the cache until
# the wheel is made: run this again after a stop and it goes on from the
# objects already built. tools/misc/cuda_env.py makes the decisions and
# checks: driver and nvcc against torch.version.cuda (nvcc installed from
# PyPI into .venv when there is none), the arch list (TORCH_CUDA_ARCH_LIST,
# else the GPUs', else every arch torch ships), and the cache key (torch,
# CUDA, archs). Without either, the CPU build is as before.
#
# SE_PLUGIN_DETECTRON2=1 (tools/run_tests.sh sets it) also installs Detectron2
# 0.6 for se_plugin.detectron2. PyPI has no official Detectron2; this takes
# the pb1-detectron2 0.6 sdist (the official v0.6 Python code without its C++
# sources; pinned by sha256), applies requirements/pb1-detectron2-0.6.patch (no
# extension when there are no C++ sources, install the model-zoo configs, a
# `detectron2._C` stand-in that names what is missing, Pillow 10's BILINEAR,
# builtins for numpy's removed np.bool/np.int/np.float/np.str) and installs it
# as pure Python: torchvision's ROIAlign and NMS, no rotated
# boxes, deformable convs or fast COCO evaluator. Users install the official
# one from source (configs/detectron2/README.md, "Install").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
CACHE=${SE_PLUGIN_CACHE:-$HOME/.cache/se_plugin}
PYTHON=${PYTHON:-python3.11}
MMCV_VERSION=2.1.0
DETECTRON2=${SE_PLUGIN_DETECTRON2:-0}
D2_SDIST=pb1-detectron2-0.6.tar.gz
D2_URL=https://files.pythonhosted.org/packages/60/26/48f5bbb7ee492696a21da23303daeecdfe3942c498a70d34108acf63b2bd/$D2_SDIST
D2_SHA256=5d2e9e51e523ec72f6a31cca04b0a515492e9514b773a3d134cedc0677170b29
PY=$VENV/bin/python
PIP=("$PY" -m pip install --disable-pip-version-check -q)
log() { echo "[setup_env] $*"; }
# need_space DIR GIB WHAT: fail before pip does (pip's "No space left on
# device" comes after gigabytes of work and names neither the folder nor the
# size needed).
need_space() {
  mkdir -p "$1"
  local free_kib
  free_kib=$(df -Pk "$1" | awk 'NR == 2 {print $4}')
  if [ "$free_kib" -lt $(( $2 * 1024 * 1024 )) ]; then
    echo "[setup_env] not enough disk space for $3: needs about $2 GiB free" \
      "on the file system of $1, which has $(( free_kib / 1024 )) MiB free" >&2
    exit 1
  fi
}

case "$(uname -m)" in
  x86_64) TORCH=(torch==2.14.1 torchvision==0.29.1) ;;
  aarch64) TORCH=(torch==2.9.1 torchvision==0.24.1) ;;
  *) echo "[setup_env] unsupported machine: $(uname -m)" >&2; exit 1 ;;
esac

stamp_of() {
  cat "$ROOT/tools/setup_env.sh" "$ROOT/tools/misc/cuda_env.py" \
      "$ROOT/tools/misc/check_env.py" \
      "$ROOT/requirements/runtime.txt" "$ROOT/requirements/tests.txt" \
      "$ROOT/requirements/nodeps.txt" "$ROOT/setup.py" \
      "$ROOT/requirements/detectron2.txt" \
      "$ROOT/requirements/pb1-detectron2-0.6.patch" \
    | sha256sum | cut -d' ' -f1
}
# The self-check (tools/misc/check_env.py): the pinned versions are the
# installed ones, no transformers, mmcv's compiled ops run, the stack and
# se_plugin import (with SE_PLUGIN_DETECTRON2=1, se_plugin.detectron2 too;
# without, a Detectron2 already installed is left as it is).
self_check() {
  local d2=()
  if [ "$DETECTRON2" = 1 ]; then d2=(--detectron2); fi
  "$PY" "$ROOT/tools/misc/check_env.py" ${d2[@]+"${d2[@]}"} "${TORCH[@]}" \
    "mmcv==$MMCV_VERSION" "$ROOT/requirements/runtime.txt" \
    "$ROOT/requirements/tests.txt" "$ROOT/requirements/nodeps.txt"
}
# Up to date: the stamp matches and the self-check passes.
STAMP=$VENV/.se_plugin_setup
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_of)" ] \
    && self_check 2>/dev/null; then
  log "environment up to date: $VENV"
  exit 0
fi

start=$(date +%s)
# A new .venv holds about 6.3 GiB (torch's CUDA build 5.5 of them).
if ! "$PY" -c "import torch" 2>/dev/null; then
  need_space "$ROOT" 7 "a new $VENV"
fi
if [ ! -x "$PY" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
log "installing build tools and ${TORCH[*]}"
"${PIP[@]}" -U pip 'setuptools<81' wheel ninja
"${PIP[@]}" "${TORCH[@]}"
log "installing pinned requirements"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
"${PIP[@]}" --no-deps -r "$ROOT/requirements/nodeps.txt"

# mmcv with its compiled ops: reuse the cached wheel or build it once.
# plan: `variant=KEY` and, for CUDA ops, FORCE_CUDA/CUDA_HOME/... exports.
plan=$("$PY" "$ROOT/tools/misc/cuda_env.py" plan "$VENV")
eval "$plan"
installed="import mmcv, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'"
if [ "${FORCE_CUDA:-}" = 1 ]; then
  installed="$installed; import mmcv.ops
assert mmcv.ops.get_compiling_cuda_version() != 'not available'"
fi
if "$PY" -c "$installed" 2>/dev/null; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  wheel_dir=$CACHE/mmcv-$MMCV_VERSION-$variant
  wheel=$(ls "$wheel_dir"/mmcv-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    took="25-30 minutes on 2 cores"
    if [ "${FORCE_CUDA:-}" = 1 ]; then took="CUDA ops: hours on 2 cores"; fi
    log "building mmcv $MMCV_VERSION with ops for $variant ($took)"
    if [ "${FORCE_CUDA:-}" = 1 ]; then
      # Kept in the cache until the wheel is made: a stopped build goes on
      # where it stopped when this runs again (ninja keeps the finished
      # objects of build/temp.*; the sources are unpacked once).
      build=$wheel_dir.build
      need_space "$CACHE" 4 "mmcv's CUDA build"
    else
      build=$(mktemp -d)
      need_space "${TMPDIR:-/tmp}" 2 "mmcv's build"
    fi
    src=$build/mmcv-$MMCV_VERSION
    if [ ! -f "$build/.unpacked" ]; then
      rm -rf "$build" && mkdir -p "$build"
      "$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
        --no-build-isolation "mmcv==$MMCV_VERSION" -d "$build"
      tar xzf "$build/mmcv-$MMCV_VERSION.tar.gz" -C "$build"
      sed -i 's/-std=c++1[47]/-std=c++20/g' "$src/setup.py"
      touch "$build/.unpacked"
    else
      done_objects=$(find "$src/build" -name '*.o' 2>/dev/null | wc -l)
      log "resuming the build in $build: $done_objects objects already built"
    fi
    export MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)}
    (cd "$src" && "$PY" -m pip wheel --disable-pip-version-check -q --no-deps \
      --no-build-isolation . -w "$build/wheel")
    mkdir -p "$wheel_dir"
    cp "$build"/wheel/mmcv-*.whl "$wheel_dir/"
    rm -rf "$build"
    wheel=$(ls "$wheel_dir"/mmcv-*.whl | head -n1)
  else
    log "reusing cached mmcv wheel $wheel"
  fi
  "${PIP[@]}" --no-deps --force-reinstall "$wheel"
fi

"$PY" -m pip uninstall -y -q transformers 2>/dev/null || true
log "installing se_plugin (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"

if [ "$DETECTRON2" = 1 ] \
    && "$PY" -c "import importlib.metadata as m; m.version('detectron2')" 2>/dev/null; then
  # An official Detectron2 (built from source) is never replaced.
  log "using the installed official Detectron2"
elif [ "$DETECTRON2" = 1 ]; then
  log "installing Detectron2 0.6: $D2_SDIST + requirements/pb1-detectron2-0.6.patch (pure Python)"
  "${PIP[@]}" -r "$ROOT/requirements/detectron2.txt"
  sdist=$CACHE/$D2_SDIST
  if [ ! -f "$sdist" ] || ! echo "$D2_SHA256  $sdist" | sha256sum -c --quiet 2>/dev/null; then
    mkdir -p "$CACHE"
    # pip cannot fetch it (its metadata names a direct-URL extra): by URL.
    "$PY" - "$D2_URL" "$sdist.part" <<'PY'
import sys, urllib.request
urllib.request.urlretrieve(sys.argv[1], sys.argv[2])
PY
    if ! echo "$D2_SHA256  $sdist.part" | sha256sum -c --quiet; then
      echo "[setup_env] $D2_URL: sha256 is not $D2_SHA256" >&2; exit 1
    fi
    mv "$sdist.part" "$sdist"
  fi
  build=$(mktemp -d)
  tar xzf "$sdist" -C "$build"
  (cd "$build/pb1-detectron2-0.6" \
    && git apply -p1 "$ROOT/requirements/pb1-detectron2-0.6.patch")
  "${PIP[@]}" --no-deps --no-build-isolation "$build/pb1-detectron2-0.6"
  rm -rf "$build"
fi
self_check
stamp_of > "$STAMP"
log "done in $(( $(date +%s) - start ))s: $VENV"
