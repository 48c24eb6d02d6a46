#!/usr/bin/env python3
"""The Python side of Shears' interoperability tests, run with the venv of scripts/setup_pyenv.sh:

  interop_peer.py onnx MODEL.onnx IO.safetensors OUT.safetensors
      onnx.checker.check_model(full_check=True) on MODEL, then ONNX Runtime (CPU) on IO's `input`; writes the
      output as OUT's `output` and prints the model's opset, input/output shapes and metadata_props as JSON.
  interop_peer.py decompress FILE.safetensors DENSE.safetensors
      compressed_tensors' BitmaskCompressor (config from FILE's `sparsity_config` metadata) decompresses FILE;
      every tensor must equal DENSE's bit for bit (same names, dtypes, shapes, bytes). Prints a JSON summary.
  interop_peer.py custom-from-mask MODEL.safetensors MASK.safetensors IO.safetensors
      docs/export.md's recipe: a PyTorch MLP named like Shears' (fc1, fc2, …) loads MODEL (strict), normalises IO's
      `input` with MODEL's shears.mean / shears.std, and must give IO's `output`; then every tensor of MASK goes
      to torch.nn.utils.prune.custom_from_mask, three SGD steps with momentum on random data keep every pruned
      weight at 0, and prune.remove leaves them 0 in the plain parameter. Prints a JSON summary.
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


def custom_from_mask(model_path, mask_path, io_path):
    import torch
    import torch.nn.utils.prune as prune
    from safetensors import safe_open
    from safetensors.torch import load_file

    # --- the recipe of docs/export.md, "The mask in PyTorch" ---
    state = load_file(model_path)
    masks = load_file(mask_path)                      # 1 = kept, 0 = pruned, one tensor per pruned weight
    with safe_open(model_path, "pt") as f:
        meta = f.metadata()
    per_channel = lambda key: torch.tensor([float(v) for v in meta[key].split(",")]).view(1, -1, 1, 1)
    mean, std = per_channel("shears.mean"), per_channel("shears.std")   # inputs are (x - mean) / std, x in [0, 1]

    class MLP(torch.nn.Module):                       # LeNet-300-100's names: fc1, fc2, fc3
        def __init__(self, sizes):
            super().__init__()
            for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), 1):
                setattr(self, f"fc{i}", torch.nn.Linear(n_in, n_out))
            self.depth = len(sizes) - 1

        def forward(self, x):
            x = x.flatten(1)
            for i in range(1, self.depth + 1):
                x = getattr(self, f"fc{i}")(x)
                x = torch.relu(x) if i < self.depth else x
            return x

    layers = sorted({k.split(".")[0] for k in state}, key=lambda n: int(n[2:]))
    sizes = [state["fc1.weight"].shape[1]] + [state[f"{n}.weight"].shape[0] for n in layers]
    net = MLP(sizes)
    net.load_state_dict(state, strict=True)
    for name, mask in masks.items():                  # "fc1.weight" → module fc1, parameter "weight"
        module_name, parameter = name.rsplit(".", 1)
        prune.custom_from_mask(net.get_submodule(module_name), name=parameter, mask=mask)
    # --- end of the recipe ---

    io = load_file(io_path)
    with torch.no_grad():
        y = net((io["input"] - mean) / std)
    err = (y - io["output"]).abs().max().item()
    scale = io["output"].abs().max().item()
    if not err <= 1e-5 * max(1.0, scale):
        raise SystemExit(f"PyTorch's output differs from Shears' by {err} (scale {scale})")
    torch.manual_seed(0)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        x, t = torch.randn(16, *io["input"].shape[1:]), torch.randint(0, sizes[-1], (16,))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), t).backward()
        opt.step()
    pruned = {}
    for name, mask in masks.items():
        module_name, parameter = name.rsplit(".", 1)
        module = net.get_submodule(module_name)
        if not torch.all(getattr(module, parameter)[mask == 0] == 0):
            raise SystemExit(f"{name}: a pruned weight moved away from 0 during training")
        prune.remove(module, parameter)
        w = getattr(module, parameter)
        if not torch.all(w[mask == 0] == 0):
            raise SystemExit(f"{name}: prune.remove did not keep the pruned weights at 0")
        if torch.equal(w.detach(), state[name] * mask):
            raise SystemExit(f"{name}: the kept weights did not train")
        pruned[name] = int((mask == 0).sum())
    print(json.dumps({"max_abs_error": err, "pruned": pruned}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"onnx": run_onnx, "decompress": decompress, "custom-from-mask": custom_from_mask}[command](*args)
