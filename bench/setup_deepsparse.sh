#!/usr/bin/env bash
# The venv of bench/engines_check.sh: DeepSparse 1.8.0 (PyPI; 1.9.0 is an empty stub) beside ONNX Runtime. It is a
# venv of its own because deepsparse 1.8.0 needs onnx < 1.15 and numpy < 2, which the test venv (.venv-test) does
# not have. Idempotent: an existing venv with both engines importable is kept.
#
#   bash bench/setup_deepsparse.sh [VENV_DIR]      (default .venv-deepsparse at the repository root)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-deepsparse}"
if "$VENV/bin/python" -c "import deepsparse, onnxruntime, onnx, safetensors" 2>/dev/null; then
    echo "setup_deepsparse: $VENV is ready"; exit 0
fi
command -v python3 >/dev/null || { echo "setup_deepsparse: python3 is missing (apt-get install python3 python3-venv)" >&2; exit 1; }
python3 -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] < (3, 12) else 1)' \
    || { echo "setup_deepsparse: deepsparse 1.8.0 supports Python 3.8–3.11; this python3 is $(python3 --version)" >&2; exit 1; }
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "deepsparse==1.8.0" onnxruntime safetensors "numpy<2"
"$VENV/bin/python" -c "import deepsparse, onnxruntime; print('setup_deepsparse: deepsparse', deepsparse.__version__, 'onnxruntime', onnxruntime.__version__)"
