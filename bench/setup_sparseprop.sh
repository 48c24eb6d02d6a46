#!/usr/bin/env bash
# Installs SparseProp (IST Austria, ICML 2023: sparse linear / conv forward and backward on CPU) into the PyTorch
# venv of bench/setup_torch.sh, idempotently, and prints the Python interpreter to use as the LAST line of stdout
# (progress goes to stderr):
#
#   PY=$(bash bench/setup_sparseprop.sh)
#   "$PY" bench/sparseprop_train.py --model mlp --batch-size 60 --sparsity 0.9 --steps 200 --threads 2
#
# sparseprop is a source distribution whose C++ extension compiles against the installed torch, hence
# --no-build-isolation (a build-isolated install would fetch and compile against another torch). Needs a C++
# compiler (g++, in Debian's build-essential) and the interpreter's headers.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "[setup_sparseprop] $*" >&2; }

PY="$(TORCH_NO_FALLBACK=1 bash "$HERE/setup_torch.sh" pypi | tail -n 1)"
if "$PY" -c 'import torch; from sparseprop import backend' >/dev/null 2>&1; then
    log "sparseprop already installed for $PY."
else
    log "Installing sparseprop (compiles its extension against torch; a few minutes) ..."
    "$PY" -m pip install --no-cache-dir --disable-pip-version-check setuptools wheel >&2
    "$PY" -m pip install --no-cache-dir --disable-pip-version-check --no-build-isolation sparseprop >&2
fi
"$PY" -c 'import sparseprop, torch; print("[setup_sparseprop] sparseprop at", sparseprop.__file__, "torch", torch.__version__)' >&2
echo "$PY"
