#!/usr/bin/env bash
# Creates the venv of the structured-pruning peers (bench/torch_structured.py): a CPU-only torch and
# Torch-Pruning (DepGraph, Fang et al. CVPR 2023) from PyPI, idempotently. Prints the venv's python as the
# LAST line of stdout (progress goes to stderr):
#
#   PY=$(bash bench/setup_torch_pruning.sh)
#   "$PY" bench/torch_structured.py --help
#
# torch is the same CPU wheel as the test venv's (scripts/setup_pyenv.sh): a find-links folder, else the CPU
# wheel index, else PyPI's default torch (with CUDA libraries, ≈ 4 GB).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TP_VENV:-$ROOT/.venv-torch-pruning}"
TORCH_CPU="torch==2.13.0+cpu"
TORCH_CPU_INDEX="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
REQUIREMENTS=(torch-pruning==1.6.1 numpy)
STAMP="$VENV/.shears-requirements"
want="${REQUIREMENTS[*]} $TORCH_CPU"
log() { echo "setup_torch_pruning: $*" >&2; }

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log "venv $VENV present ($want)"
else
    base="${PYTHON:-python3}"
    command -v "$base" >/dev/null || { log "no $base on PATH (Debian: apt-get install python3 python3-venv)"; exit 1; }
    [ -x "$VENV/bin/python" ] || "$base" -m venv "$VENV"
    pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
    if "${pip[@]}" --no-index --no-deps "$TORCH_CPU" 2>/dev/null \
        || "${pip[@]}" --no-deps --retries 1 --index-url "$TORCH_CPU_INDEX" "$TORCH_CPU"; then
        "${pip[@]}" "$TORCH_CPU"
    else
        log "no $TORCH_CPU wheel reachable; installing PyPI's default torch"
        "${pip[@]}" torch
    fi
    "${pip[@]}" "${REQUIREMENTS[@]}"
    echo "$want" > "$STAMP"
fi
"$VENV/bin/python" -c 'import torch, torch_pruning as tp; print("setup_torch_pruning: torch", torch.__version__, "torch-pruning", tp.__version__)' >&2
echo "$VENV/bin/python"
