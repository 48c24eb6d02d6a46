#!/usr/bin/env python3
"""The Python side of Shears' interoperability tests, run with the venv of scripts/setup_pyenv.sh:

  interop_peer.py onnx MODEL.onnx IO.safetensors OUT.safetensors
      onnx.checker.check_model(full_check=True) on MODEL, then ONNX Runtime (CPU) on IO's `input`; writes the
      output as OUT's `output` and prints the model's opset, input/output shapes and metadata_props as JSON.
  interop_peer.py decompress FILE.safetensors DENSE.safetensors
      compressed_tensors' BitmaskCompressor (config from FILE's `sparsity_config` metadata) decompresses FILE;
      every tensor must equal DENSE's bit for bit (same names, dtypes, shapes, bytes). Prints a JSON summary.
Any failure exits non-zero with the reason on stderr.
"""
import json
import sys


def run_onnx(model_path, io_path, out_path):
    import numpy as np
    import onnx
    import onnxruntime as ort
    from safetensors.numpy import load_file, save_file

    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    x = load_file(io_path)["input"]
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    (y,) = session.run(None, {name: x.astype(np.float32)})
    save_file({"output": np.ascontiguousarray(y, dtype=np.float32)}, out_path)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    print(json.dumps({"opset": max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                      "input": dims(model.graph.input[0]), "output": dims(model.graph.output[0]),
                      "metadata": {p.key: p.value for p in model.metadata_props},
                      "initializers": [t.name for t in model.graph.initializer]}))


def decompress(path, dense_path):
    import torch
    from compressed_tensors.compressors import BaseCompressor
    from compressed_tensors.config import SparsityCompressionConfig
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    config = json.loads(meta["sparsity_config"])
    sparsity = SparsityCompressionConfig.load_from_registry(config["format"], **config)
    compressor = BaseCompressor.load_from_registry(sparsity.format, config=sparsity)
    decompressed = dict(compressor.decompress(path))
    dense = load_file(dense_path)
    if set(decompressed) != set(dense):
        raise SystemExit(f"names differ: only decompressed {sorted(set(decompressed) - set(dense))}, "
                         f"only dense {sorted(set(dense) - set(decompressed))}")
    for name, t in dense.items():
        d = decompressed[name]
        if d.dtype != t.dtype or list(d.shape) != list(t.shape):
            raise SystemExit(f"{name}: decompressed {d.dtype} {list(d.shape)}, dense {t.dtype} {list(t.shape)}")
        a, b = d.contiguous().reshape(-1).view(torch.uint8), t.contiguous().reshape(-1).view(torch.uint8)
        if not torch.equal(a, b):
            raise SystemExit(f"{name}: decompressed bytes differ from the dense tensor's")
    compressed = sorted(k[: -len(".compressed")] + ".weight" for k in load_file(path) if k.endswith(".compressed"))
    print(json.dumps({"tensors": len(dense), "compressed": compressed, "format": sparsity.format,
                      "global_sparsity": sparsity.global_sparsity}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"onnx": run_onnx, "decompress": decompress}[command](*args)
