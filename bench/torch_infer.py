#!/usr/bin/env python3
"""PyTorch peer of `shears bench infer`: dense CPU inference, eval mode, no_grad.

Whole model (one JSON line, the keys of `shears bench infer` that apply to a dense run):
  python bench/torch_infer.py --model lenet300-100 --sparsity 0.9 --batch-size 64 --threads 2
Each distinct conv layer shape of the model on its own (one JSON line per shape, named as Shears names it):
  python bench/torch_infer.py --model resnet20 --sparsity 0.9 --batch-size 1 --conv-layers
  python bench/torch_infer.py --model vgg16 --sparsity 0.9 --batch-size 1 --layer features.10.weight

The weights are pruned layerwise by magnitude to --sparsity, as Shears does, although PyTorch's dense
kernels do not look at the zeros: the sparsity is there so that rows of the two tools line up. Time per
forward is the median over --iterations runs after one untimed run. Models and names follow Shears'
ModelZoo: LeNet-300-100 (fc1..fc3), the CIFAR ResNet-20 with 1x1 projection shortcuts (conv1,
layer1.0.conv1, layer2.0.shortcut.0, ...), VGG-16 with batch norm (features.N, classifier).
"""

import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["lenet300-100", "resnet20", "vgg16"], required=True)
    p.add_argument("--sparsity", type=float, required=True)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--conv-layers", action="store_true")
    p.add_argument("--layer", default=None)
    a = p.parse_args()
    if not 0 <= a.sparsity < 1:
        p.error(f"--sparsity must be in [0, 1), got {a.sparsity}")
    if a.batch_size < 1 or a.threads < 1 or a.iterations < 1:
        p.error("--batch-size, --threads and --iterations must be >= 1")
    if a.conv_layers and a.layer:
        p.error("--conv-layers and --layer are alternatives; give one")
    return a


ARGS = parse_args()
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["MKL_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


from torch_models import MLP, ResNetCIFAR, VGG16  # noqa: E402  (bench/torch_models.py)


def prune_layerwise(model, sparsity):
    """Zero the ceil(s * n) smallest |w| of every conv / linear weight."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight.view(-1)
                k = int(-(-sparsity * w.numel() // 1))
                if k > 0:
                    idx = torch.argsort(w.abs(), stable=True)[:k]
                    w[idx] = 0


def median_seconds(fn, iterations):
    fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    a = ARGS
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = {"lenet300-100": MLP, "resnet20": lambda: ResNetCIFAR(20), "vgg16": VGG16}[a.model]().eval()
    prune_layerwise(model, a.sparsity)
    shape = (a.batch_size, 1, 28, 28) if a.model == "lenet300-100" else (a.batch_size, 3, 32, 32)
    x = torch.randn(*shape)
    common = {"framework": "pytorch", "torch_version": torch.__version__, "model": a.model,
              "batch_size": a.batch_size, "sparsity": a.sparsity, "threads": a.threads}
    print(f"[torch_infer] torch {torch.__version__}, threads {torch.get_num_threads()}", file=sys.stderr)

    if not a.conv_layers and not a.layer:
        with torch.no_grad():
            t = median_seconds(lambda: model(x), a.iterations)
        print(json.dumps({**common, "dense_img_s": round(a.batch_size / t, 1)}))
        return

    # The input each layer sees, from one forward with hooks.
    seen = []
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: seen.append((name, mod, tuple(inp[0].shape))))
             for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    if a.layer:
        chosen = [s for s in seen if s[0] + ".weight" == a.layer][:1]
        if not chosen:
            sys.exit(f"--layer: {a.model} has no conv / linear weight named '{a.layer}'; its weights are "
                     + ", ".join(s[0] + ".weight" for s in seen))
    else:
        keys, chosen = set(), []
        for name, mod, shp in seen:
            if isinstance(mod, nn.Conv2d):
                key = (shp, tuple(mod.weight.shape), mod.stride[0], mod.padding[0])
                if key not in keys:
                    keys.add(key)
                    chosen.append((name, mod, shp))
    for name, mod, shp in chosen:
        xi = torch.randn(*shp)
        with torch.no_grad():
            t = median_seconds(lambda: mod(xi), a.iterations)
        conv = isinstance(mod, nn.Conv2d)
        print(json.dumps({**common, "layer": name + ".weight", "input": list(shp), "weight": list(mod.weight.shape),
                          "stride": mod.stride[0] if conv else 1, "padding": mod.padding[0] if conv else 0,
                          "dense_us": round(t * 1e6, 1), "dense_img_s": round(a.batch_size / t, 1)}))


main()
