#!/usr/bin/env bash
# Installs a PyTorch for the peer benchmark (bench/torch_train.py), idempotently,
# and prints the Python interpreter to use as the LAST line of stdout
# (all progress goes to stderr), so that:
#
#   PY=$(bash bench/setup_torch.sh pypi)     # PyPI torch 2.3.1 in bench/.venv
#   PY=$(bash bench/setup_torch.sh debian)   # Debian's python3-torch (1.13)
#   "$PY" bench/torch_train.py --model mlp --batch-size 60 --steps 15000 --warmup 500 --threads 2
#
# Routes:
#   pypi   (default) torch==2.3.1 from PyPI into the venv bench/.venv
#          (override with TORCH_VENV). PyPI has no CPU-only torch wheel for
#          Linux x86_64: the 2.3.1 wheel (~780 MB) links libtorch_cuda.so, whose
#          CUDA libraries (cudart, cublas, cudnn, ...) must be present for
#          `import torch` to succeed even on a machine without a GPU
#          (`pip install --no-deps torch` alone fails with
#          "ValueError: libcublas.so.*[0-9] not found"). So this installs torch
#          with --no-deps, its small pure-Python deps, and the nvidia-*-cu12
#          runtime wheels torch 2.3.1 pins, but not triton (only for
#          torch.compile on GPUs). About 3.2 GB to download, 4.5 GB on disk,
#          1-3 minutes here. The CPU code is MKL + oneDNN 3.3.6, AVX2.
#   debian Debian 12's python3-torch 1.13 via apt; it runs with /usr/bin/python3
#          (NOT the pyenv python3 on PATH). BLAS is the system OpenBLAS
#          (pthread variant) + oneDNN 2.6. See the oversubscription note that
#          it prints.
#   If the pypi route fails, the script falls back to debian (set
#   TORCH_NO_FALLBACK=1 to make it fail instead).
set -euo pipefail

ROUTE="${1:-pypi}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${TORCH_VENV:-$HERE/.venv}"
TORCH_PYPI_VERSION="2.3.1"

log() { echo "[setup_torch] $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

setup_debian() {
  local py=/usr/bin/python3
  if "$py" -c 'import torch' >/dev/null 2>&1; then
    log "Debian python3-torch already installed."
  else
    log "Installing Debian's python3-torch (apt-get) ..."
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >&2
  fi
  "$py" -c 'import torch; print("[setup_torch] torch", torch.__version__, "at", torch.__file__)' >&2
  log "NOTE: Debian's torch links the system OpenBLAS (pthread build) next to libgomp."
  log "      With --threads 2 on 2 cores the two thread pools spin against each other"
  log "      and small-GEMM models (the MLP) run ~10x slower. For a diagnostic run add"
  log "      '--blas-threads 1' or set OMP_WAIT_POLICY=passive."
  echo "$py"
}

pick_python() {
  # torch 2.3.1 ships wheels for CPython 3.8-3.12.
  local cand
  for cand in "${PYTHON:-}" python3.11 python3.12 python3.10 python3; do
    [ -n "$cand" ] || continue
    command -v "$cand" >/dev/null 2>&1 || continue
    if "$cand" -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null; then
      command -v "$cand"
      return 0
    fi
  done
  return 1
}

setup_pypi() {
  local vpy="$VENV/bin/python"
  if [ -x "$vpy" ] && "$vpy" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_PYPI_VERSION') else 1)" >/dev/null 2>&1; then
    log "PyPI torch $TORCH_PYPI_VERSION already installed in $VENV."
  else
    local base
    base="$(pick_python)" || { log "no CPython 3.8-3.12 found for torch $TORCH_PYPI_VERSION"; return 1; }
    log "Creating venv $VENV with $base ..."
    [ -x "$vpy" ] || "$base" -m venv "$VENV" >&2 || return 1
    local pip=("$vpy" -m pip install --no-cache-dir --disable-pip-version-check)
    log "Installing torch==$TORCH_PYPI_VERSION (--no-deps) ..."
    "${pip[@]}" --no-deps "torch==$TORCH_PYPI_VERSION" >&2 || return 1
    log "Installing torch's pure-Python deps ..."
    "${pip[@]}" filelock "typing-extensions>=4.8.0" sympy networkx jinja2 fsspec >&2 || return 1
    log "Installing the CUDA runtime wheels libtorch_cuda.so links against (no GPU needed) ..."
    "${pip[@]}" --no-deps \
      nvidia-cuda-nvrtc-cu12==12.1.105 \
      nvidia-cuda-runtime-cu12==12.1.105 \
      nvidia-cuda-cupti-cu12==12.1.105 \
      nvidia-cudnn-cu12==8.9.2.26 \
      nvidia-cublas-cu12==12.1.3.1 \
      nvidia-cufft-cu12==11.0.2.54 \
      nvidia-curand-cu12==10.3.2.106 \
      nvidia-cusolver-cu12==11.4.5.107 \
      nvidia-cusparse-cu12==12.1.0.106 \
      nvidia-nccl-cu12==2.20.5 \
      nvidia-nvtx-cu12==12.1.105 \
      nvidia-nvjitlink-cu12==12.9.86 >&2 || return 1
  fi
  "$vpy" -W ignore -c 'import torch; print("[setup_torch] torch", torch.__version__, "at", torch.__file__, "mkldnn:", torch.backends.mkldnn.is_available())' >&2 || return 1
  echo "$vpy"
}

case "$ROUTE" in
  debian) setup_debian ;;
  pypi)
    if ! setup_pypi; then
      if [ "${TORCH_NO_FALLBACK:-0}" = 1 ]; then
        log "PyPI route failed."; exit 1
      fi
      log "PyPI route failed; falling back to Debian's python3-torch."
      setup_debian
    fi
    ;;
  *) echo "usage: $0 [pypi|debian]" >&2; exit 2 ;;
esac
