#!/usr/bin/env python3
"""PyTorch and Torch-Pruning peers of `shears bench structured` and `shears prune structured` (issue #14).

Three modes, one JSON line each (run with the test venv, which has torch and torch-pruning: bash scripts/setup_pyenv.sh):

  speed    The original model, the model of Shears' compacted widths (widths.json of `shears bench structured
           --save DIR`, its safetensors loaded) and Torch-Pruning's own compaction of the original (L1 filter norm,
           layerwise, --round-to), timed interleaved in eval mode under no_grad (median of --iterations rounds):
             python bench/torch_structured.py speed --model resnet20 --shears-dir DIR --ratio 0.5 --batch-size 64
  widths   Torch-Pruning on Shears' own seeded original (DIR/original.safetensors) with the criterion Shears uses
           (L1 norm of every producing conv / linear filter of the group, summed; no normalisation), then the
           compacted tensors compared with Shears' DIR/model.safetensors: same widths per layer, and the same
           channels kept (the tensors equal) where the widths agree.
  finetune Wall time of an evaluation, Torch-Pruning's prune (its default L1 group importance, layerwise,
           --round-to), --epochs of SGD fine-tuning (rate 0.01, momentum 0.9, batch --batch-size) and an evaluation,
           on the --npz data (normalised per channel), the work `shears prune structured --dataset npz` does.

Models follow Shears' ModelZoo names (bench/torch_models.py): ResNet-20/56 with 1x1 projection shortcuts, VGG-16
with batch norm. Threads: --threads for intra-op (OMP/MKL).
"""

import argparse
import json
import os
import statistics
import struct
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["speed", "widths", "finetune"])
    p.add_argument("--model", choices=["resnet20", "resnet56", "vgg16"], required=True)
    p.add_argument("--ratio", type=float, default=0.5, help="fraction of channels removed, in (0, 1)")
    p.add_argument("--round-to", type=int, default=8)
    p.add_argument("--shears-dir", default=None, help="`shears bench structured --save` output (speed, widths)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--npz", default=None, help="finetune: x_train, y_train, x_test, y_test ([N, 3, 32, 32] float32)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if not 0 < a.ratio < 1:
        p.error(f"--ratio must be in (0, 1), got {a.ratio}")
    for name in ("round_to", "batch_size", "iterations", "threads", "epochs"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.mode in ("speed", "widths") and not a.shears_dir:
        p.error(f"{a.mode} needs --shears-dir (the folder of `shears bench structured --save`)")
    if a.mode == "finetune" and not a.npz:
        p.error("finetune needs --npz (the data both tools fine-tune on; bench/structured_finetune.sh makes one)")
    return a


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch_pruning as tp  # noqa: E402


# ---------------------------------------------------------------- models of any widths (Shears' names)

from torch_models import build  # noqa: E402  (bench/torch_models.py: Shears' zoo in PyTorch, any widths)


# ---------------------------------------------------------------- safetensors (the format, read by hand: 20 lines)

def read_safetensors(path):
    """name -> tensor (F32, I64); fails naming the file and the tensor on anything else."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        sys.exit(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        sys.exit(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": "<f4", "I64": "<i8"}.get(info["dtype"])
        if dtype is None:
            sys.exit(f"{path}: {name} has dtype {info['dtype']}, expected F32 or I64")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtype).copy()).reshape(tuple(info["shape"]))
    return out


def load_state(model, tensors, path):
    state = model.state_dict()
    for name, t in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        if name not in tensors:
            sys.exit(f"{path}: has no tensor {name} (expected by the PyTorch model)")
        if tuple(tensors[name].shape) != tuple(t.shape):
            sys.exit(f"{path}: {name} has shape {list(tensors[name].shape)}, the PyTorch model expects {list(t.shape)}")
        t.copy_(tensors[name])


# ---------------------------------------------------------------- Torch-Pruning

class ProducerL1(tp.importance.GroupMagnitudeImportance):
    """Shears' `l1` group criterion: Σ|w| of every producing conv / linear output filter of the group, summed over
    the producers; nothing from batch norms or the consumers' input columns, no normalisation."""

    def __init__(self):
        super().__init__(p=1, group_reduction="sum", normalizer=None)

    @torch.no_grad()
    def __call__(self, group):
        imps, idxs_list = [], []
        for i, (dep, idxs) in enumerate(group):
            if dep.pruning_fn in (tp.prune_conv_out_channels, tp.prune_linear_out_channels):
                imps.append(dep.layer.weight.data[idxs].flatten(1).abs().sum(1))
                idxs_list.append(group[i].root_idxs)
        return self._reduce(imps, idxs_list) if imps else None


def tp_prune(model, ratio, round_to, importance):
    example = torch.randn(1, 3, 32, 32)
    head = model.fc if hasattr(model, "fc") else model.classifier
    pruner = tp.pruner.MetaPruner(model, example, importance=importance, pruning_ratio=ratio,
                                  ignored_layers=[head], round_to=round_to, global_pruning=False)
    pruner.step()
    return model


def conv_widths(model):
    return {name: m.out_channels for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def macs_params(model):
    macs, params = tp.utils.count_ops_and_params(model, torch.randn(1, 3, 32, 32))
    return int(macs), int(params)


def median_interleaved(models, x, iterations):
    times = [[] for _ in models]
    with torch.no_grad():
        for r in range(iterations + 2):
            for i, m in enumerate(models):
                t0 = time.perf_counter()
                m(x)
                if r >= 2:
                    times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


# ---------------------------------------------------------------- modes

def speed(a):
    with open(os.path.join(a.shears_dir, "widths.json")) as f:
        widths = json.load(f)
    torch.manual_seed(a.seed)
    original = build(a.model).eval()
    same = build(a.model, widths).eval()
    path = os.path.join(a.shears_dir, "model.safetensors")
    load_state(same, read_safetensors(path), path)
    pruned = tp_prune(build(a.model).eval(), a.ratio, a.round_to, tp.importance.MagnitudeImportance(p=1)).eval()
    x = torch.randn(a.batch_size, 3, 32, 32)
    t_orig, t_same, t_tp = median_interleaved([original, same, pruned], x, a.iterations)
    mo, po = macs_params(original)
    ms, ps = macs_params(same)
    mt, pt = macs_params(pruned)
    print(json.dumps({"framework": "pytorch", "torch_version": torch.__version__, "torch_pruning": tp.__version__,
                      "model": a.model, "channel_ratio": a.ratio, "round_to": a.round_to, "batch_size": a.batch_size,
                      "threads": a.threads, "img_s_original": a.batch_size / t_orig,
                      "img_s_shears_widths": a.batch_size / t_same, "img_s_tp_compacted": a.batch_size / t_tp,
                      "macs_original": mo, "macs_shears_widths": ms, "macs_tp_compacted": mt,
                      "params_original": po, "params_shears_widths": ps, "params_tp_compacted": pt,
                      "tp_widths": conv_widths(pruned)}, sort_keys=True))


def widths(a):
    orig_path = os.path.join(a.shears_dir, "original.safetensors")
    small_path = os.path.join(a.shears_dir, "model.safetensors")
    model = build(a.model).eval()
    load_state(model, read_safetensors(orig_path), orig_path)
    pruned = tp_prune(model, a.ratio, a.round_to, ProducerL1())
    shears = read_safetensors(small_path)
    tp_state = {k: v for k, v in pruned.state_dict().items() if not k.endswith("num_batches_tracked")}
    width_diff, value_diff, max_abs = [], [], 0.0
    for name, t in tp_state.items():
        s = shears.get(name)
        if s is None:
            sys.exit(f"{small_path}: has no tensor {name}")
        if tuple(s.shape) != tuple(t.shape):
            width_diff.append({"tensor": name, "shears": list(s.shape), "torch_pruning": list(t.shape)})
            continue
        d = float((s - t).abs().max()) if t.numel() else 0.0
        max_abs = max(max_abs, d)
        if d > 1e-6:
            value_diff.append({"tensor": name, "max_abs_difference": d})
    print(json.dumps({"model": a.model, "channel_ratio": a.ratio, "round_to": a.round_to,
                      "tensors": len(tp_state), "shape_mismatches": width_diff, "value_mismatches": value_diff,
                      "max_abs_difference": max_abs, "tp_widths": conv_widths(pruned),
                      "same_widths": not width_diff, "same_channels": not width_diff and not value_diff},
                     sort_keys=True))


def finetune(a):
    """Prune + fine-tune + evaluate, timed from the data in memory to the last evaluation (start-up excluded)."""
    d = np.load(a.npz)
    xs, ys = torch.from_numpy(d["x_train"]).float(), torch.from_numpy(d["y_train"]).long()
    xt, yt = torch.from_numpy(d["x_test"]).float(), torch.from_numpy(d["y_test"]).long()
    mean, std = xs.mean(dim=(0, 2, 3), keepdim=True), xs.std(dim=(0, 2, 3), keepdim=True)
    xs, xt = (xs - mean) / std, (xt - mean) / std
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    model = build(a.model)

    def accuracy():
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(xt), 1000):
                correct += int((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum())
        return correct / len(xt)

    t0 = time.perf_counter()
    before = accuracy()
    tp_prune(model, a.ratio, a.round_to, tp.importance.MagnitudeImportance(p=1))
    t_prune = time.perf_counter() - t0
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xs), generator=g)
        for i in range(0, len(xs), a.batch_size):
            idx = perm[i:i + a.batch_size]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            F.cross_entropy(model(xs[idx]), ys[idx]).backward()
            opt.step()
    after = accuracy()
    total = time.perf_counter() - t0
    print(json.dumps({"framework": "torch-pruning", "model": a.model, "channel_ratio": a.ratio, "epochs": a.epochs,
                      "examples": len(xs), "batch_size": a.batch_size, "threads": a.threads,
                      "seconds_to_pruned": t_prune, "seconds": total, "test_accuracy_before": before,
                      "test_accuracy_after": after, "widths": conv_widths(model)}, sort_keys=True))


torch.set_num_threads(ARGS.threads)
{"speed": speed, "widths": widths, "finetune": finetune}[ARGS.mode](ARGS)
