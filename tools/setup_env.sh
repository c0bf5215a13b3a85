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
# GPU). tools/misc/cuda_env.py makes the decisions and checks: driver and nvcc
# against torch.version.cuda (nvcc installed from PyPI into .venv when there is
# none), the arch list (TORCH_CUDA_ARCH_LIST, else the GPUs', else every arch
# torch ships), and the cache key (torch, CUDA, archs). Without either, the
# CPU build is as before.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
CACHE=${SE_PLUGIN_CACHE:-$HOME/.cache/se_plugin}
PYTHON=${PYTHON:-python3.11}
MMCV_VERSION=2.1.0
PY=$VENV/bin/python
PIP=("$PY" -m pip install --disable-pip-version-check -q)
log() { echo "[setup_env] $*"; }

case "$(uname -m)" in
  x86_64) TORCH=(torch==2.14.1 torchvision==0.29.1) ;;
  aarch64) TORCH=(torch==2.9.1 torchvision==0.24.1) ;;
  *) echo "[setup_env] unsupported machine: $(uname -m)" >&2; exit 1 ;;
esac

stamp_of() {
  cat "$ROOT/tools/setup_env.sh" "$ROOT/tools/misc/cuda_env.py" \
      "$ROOT/requirements/runtime.txt" "$ROOT/requirements/tests.txt" \
      "$ROOT/requirements/nodeps.txt" "$ROOT/setup.py" \
    | sha256sum | cut -d' ' -f1
}
STAMP=$VENV/.se_plugin_setup
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_of)" ] \
    && "$PY" -c "import mmcv._ext, mmdet, mmpretrain.models, se_plugin" 2>/dev/null; then
  log "environment up to date: $VENV"
  exit 0
fi

start=$(date +%s)
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
    build=$(mktemp -d)
    "$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
      --no-build-isolation "mmcv==$MMCV_VERSION" -d "$build"
    tar xzf "$build/mmcv-$MMCV_VERSION.tar.gz" -C "$build"
    src=$build/mmcv-$MMCV_VERSION
    sed -i 's/-std=c++1[47]/-std=c++20/g' "$src/setup.py"
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
"$PY" -c "import mmcv._ext, mmdet, mmpretrain.models, se_plugin"
stamp_of > "$STAMP"
log "done in $(( $(date +%s) - start ))s: $VENV"
