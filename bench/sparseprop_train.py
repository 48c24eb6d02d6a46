#!/usr/bin/env python3
"""SparseProp peer for `shears bench train --sparsity s`: times PyTorch training steps of the same model with
every conv / linear weight pruned by layerwise magnitude to `--sparsity` (on the seeded random init, fixed
mask), in three variants measured in interleaved rounds:

  dense_masked   nn.Linear / nn.Conv2d, gradients of pruned weights zeroed and weights re-masked each step
                 (what PyTorch pruning code does);
  sparseprop     every pruned layer swapped for sparseprop's SparseLinear / SparseConv2d (conv layout chosen
                 by sparseprop.modules.sparsify_conv2d_auto on the layer's input shape);
  sparseprop_auto sparseprop.utils.swap_modules_with_sparse: swapped only where >= 80 % sparse and faster.

Each step: forward -> cross-entropy (mean) -> zero_grad -> backward -> SGD(lr 0.01, momentum 0.9, weight decay 5e-4),
on one fixed synthetic batch. Prints one JSON line on stdout; details go to stderr. Use the interpreter that
bench/setup_sparseprop.sh prints.
"""

import argparse
import copy
import json
import os
import statistics
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--model", choices=["mlp", "resnet20", "vgg16"], default="mlp")
p.add_argument("--batch-size", type=int, default=60)
p.add_argument("--sparsity", type=float, required=True)
p.add_argument("--steps", type=int, default=100, help="timed steps per round and variant")
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=0)
ARGS = p.parse_args()
if not (0 <= ARGS.sparsity < 1):
    sys.exit(f"--sparsity must be in [0, 1), got {ARGS.sparsity}")
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sparseprop.modules import SparseLinear, sparsify_conv2d_auto  # noqa: E402
from sparseprop.utils import swap_modules_with_sparse  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Block(nn.Module):
    """CIFAR ResNet basic block with a 1x1 projection shortcut where the shape changes (as Shears' ResNet-20)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet20():
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for i, cout in enumerate((16, 32, 64)):
        for j in range(3):
            layers.append(Block(cin, cout, 2 if i > 0 and j == 0 else 1))
            cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def vgg16():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers, cin = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, v, 3, 1, 1, bias=False), nn.BatchNorm2d(v), nn.ReLU()]
            cin = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))


def make_model():
    if ARGS.model == "mlp":
        return nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10)), (784,)
    return (resnet20() if ARGS.model == "resnet20" else vgg16()), (3, 32, 32)


@torch.no_grad()
def prune_layerwise(model):
    """Zeroes the ceil(s * count) smallest |w| of every conv / linear weight; returns {module: mask}."""
    masks = {}
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            w = m.weight
            k = int(-(-ARGS.sparsity * w.numel() // 1))
            mask = torch.ones_like(w)
            if k > 0:
                idx = torch.argsort(w.abs().flatten(), stable=True)[:k]
                mask.view(-1)[idx] = 0
            w.mul_(mask)
            masks[m] = mask
    return masks


def swap_all(model, input_shape):
    """Every pruned conv / linear replaced by its sparseprop module (conv layout picked by sparseprop)."""
    shapes = {}

    def record(mod, inp, out):   # a forward hook must return None, or it replaces the output
        shapes[mod] = tuple(inp[0].shape)

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        model(torch.zeros(input_shape))
    for h in hooks:
        h.remove()
    for name, m in list(model.named_modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, nn.Linear):
                setattr(m, child_name, SparseLinear.from_dense(child))
            elif isinstance(child, nn.Conv2d):
                setattr(m, child_name, sparsify_conv2d_auto(child, shapes[child], verbose=False))
    return model


def main():
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(ARGS.seed)
    base, per_image = make_model()
    masks_base = prune_layerwise(base)
    shape = (ARGS.batch_size,) + per_image
    x = torch.randn(shape)
    y = torch.randint(0, 10, (ARGS.batch_size,))

    variants = {}
    dense = copy.deepcopy(base)
    masks = {dm: masks_base[bm] for bm, dm in zip(base.modules(), dense.modules()) if bm in masks_base}
    variants["dense_masked"] = (dense, masks)
    variants["sparseprop"] = (swap_all(copy.deepcopy(base), shape), {})
    variants["sparseprop_auto"] = (swap_modules_with_sparse(copy.deepcopy(base), shape, verbose=False), {})
    optims = {k: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9,
                                 weight_decay=5e-4) for k, (m, _) in variants.items()}

    def step(k):
        model, masks = variants[k]
        loss = F.cross_entropy(model(x), y)
        optims[k].zero_grad()
        loss.backward()
        for m, mask in masks.items():
            m.weight.grad.mul_(mask)
        optims[k].step()
        with torch.no_grad():
            for m, mask in masks.items():
                m.weight.mul_(mask)
        return loss.item()

    for k in variants:
        for _ in range(ARGS.warmup):
            step(k)
    times = {k: [] for k in variants}
    losses = {}
    for _ in range(ARGS.rounds):
        for k in variants:
            t0 = time.perf_counter()
            for _ in range(ARGS.steps):
                losses[k] = step(k)
            times[k].append(time.perf_counter() - t0)
    ips = {k: ARGS.batch_size * ARGS.steps / statistics.median(v) for k, v in times.items()}
    swapped = sum(1 for m in variants["sparseprop_auto"][0].modules() if type(m).__module__.startswith("sparseprop"))
    log(f"[sparseprop_train] torch {torch.__version__}, losses {losses}, auto swapped {swapped} layers")
    print(json.dumps({
        "framework": "sparseprop", "torch_version": torch.__version__, "model": ARGS.model,
        "batch_size": ARGS.batch_size, "threads": ARGS.threads, "sparsity": ARGS.sparsity,
        "images_per_second_dense_masked": round(ips["dense_masked"], 1),
        "images_per_second_sparseprop": round(ips["sparseprop"], 1),
        "images_per_second_sparseprop_auto": round(ips["sparseprop_auto"], 1),
        "sparseprop_auto_swapped_layers": swapped, "rounds": ARGS.rounds, "steps": ARGS.steps,
    }))


if __name__ == "__main__":
    main()
