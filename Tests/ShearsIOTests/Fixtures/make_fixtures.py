"""Writes the PyTorch-side fixture that ShearsIOTests reads (committed for provenance).

    python3 -m venv /tmp/stvenv && /tmp/stvenv/bin/pip install safetensors numpy
    /tmp/stvenv/bin/python Tests/ShearsIOTests/Fixtures/make_fixtures.py

safetensors.numpy.save_file writes the same bytes safetensors.torch.save_file would for these tensors
(the header and data layout come from the same Rust serializer).
"""
import os

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

tensors = {
    "fc1.weight": np.arange(6, dtype=np.float32).reshape(3, 2),      # F32 [3, 2] = 0..5
    "fc1.bias": np.array([0.5, -1.25, 3.0], dtype=np.float32),       # F32 [3]
    "bn1.num_batches_tracked": np.array(7, dtype=np.int64),          # I64 [] (a scalar, as PyTorch stores it)
    "x.f64": np.array([1.5, -2.25], dtype=np.float64),               # F64 [2]
    "x.f16": np.array([0.5, -65504.0], dtype=np.float16),            # F16 [2] (-65504 is float16's lowest)
}

if __name__ == "__main__":
    path = os.path.join(HERE, "pytorch_like.safetensors")
    save_file(tensors, path, metadata={"format": "pt"})
    print("wrote", path, os.path.getsize(path), "bytes")
