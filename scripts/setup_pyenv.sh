#!/usr/bin/env bash
# Creates the Python venv the interoperability tests call as a peer (ONNX's checker, ONNX Runtime,
# compressed-tensors' decompressor), idempotently, from PyPI. `make test` runs it before the Swift tests;
# the tests look for .venv-test/bin/python (override with SHEARS_TEST_PYTHON) and fail, naming this script,
# when it is missing.
#
#   bash scripts/setup_pyenv.sh            # creates or completes .venv-test
#   SHEARS_TEST_VENV=/tmp/v bash scripts/setup_pyenv.sh
#
# torch-pruning (DepGraph) is the structured-pruning peer (PruneStructuredCommandTests).
# compressed-tensors is pinned to 0.12.2, a release that still has the sparse-bitmask compressor (0.15.0.1 no longer
# legacy sparse formats). It imports torch; pip takes the CPU-only wheel where one is offered (a find-links folder or
# the CPU wheel index given in PIP_EXTRA_INDEX_URL), else PyPI's default wheel.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SHEARS_TEST_VENV:-$ROOT/.venv-test}"
# Pinned so that the tests' peers do not move under them.
REQUIREMENTS=(onnx==1.23.1 onnxruntime==1.30.0 numpy compressed-tensors==0.12.2 torch-pruning==1.6.1)
# A CPU-only torch (≈ 200 MB instead of ≈ 4 GB with PyPI's CUDA wheels): from a find-links folder (this
# machine's pip.conf has one) or the CPU wheel index; PyPI's default torch only when neither has it.
TORCH_CPU="torch==2.13.0+cpu"
TORCH_CPU_INDEX="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
STAMP="$VENV/.shears-requirements"

log() { echo "setup_pyenv: $*" >&2; }

want="${REQUIREMENTS[*]} $TORCH_CPU"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log "venv $VENV present ($want)"
    exit 0
fi

base="${PYTHON:-python3}"
command -v "$base" >/dev/null || { log "no $base on PATH; install python3 (Debian: apt-get install python3 python3-venv)"; exit 1; }
start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$base" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
# torch first, so that compressed-tensors finds its requirement satisfied and pulls no other build: the CPU
# wheel alone (find-links, else the CPU index), then its own dependencies from PyPI.
if "${pip[@]}" --no-index --no-deps "$TORCH_CPU" 2>/dev/null \
    || "${pip[@]}" --no-deps --retries 1 --index-url "$TORCH_CPU_INDEX" "$TORCH_CPU"; then
    "${pip[@]}" "$TORCH_CPU"
else
    log "no $TORCH_CPU wheel reachable; installing PyPI's default torch (with its CUDA libraries, ≈ 4 GB)"
    "${pip[@]}" torch
fi
"${pip[@]}" "${REQUIREMENTS[@]}"
"$VENV/bin/python" -c 'import onnx, onnxruntime, compressed_tensors, torch, torch_pruning; print("setup_pyenv: onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "compressed-tensors", compressed_tensors.__version__, "torch", torch.__version__)' >&2
echo "$want" > "$STAMP"
log "venv $VENV ready in $(( $(date +%s) - start )) s"
