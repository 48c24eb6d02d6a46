#!/usr/bin/env python3
"""PyTorch peer benchmark for Shears: times full CPU training steps.

Each step is forward -> cross-entropy (mean) -> zero_grad -> backward ->
SGD(lr=0.1, momentum=0.9, weight_decay=5e-4) step, on one fixed synthetic
batch made once from the seed (data loading is not timed).

Prints exactly one JSON line on stdout per run, e.g.
  {"framework":"pytorch","torch_version":"2.3.1+cu121","model":"mlp",
   "batch_size":60,"threads":2,"images_per_second":12345.6,
   "peak_rss_mb":123.4,"steps":500}
Everything else (build configuration, parameter count, timings) goes to
stderr.

Usage:
  python bench/torch_train.py --model mlp --batch-size 60 --steps 2000 \
      --warmup 100 --threads 2 --seed 0
  python bench/torch_train.py --model resnet20 --batch-size 128 --steps 60 \
      --warmup 5 --threads 2 --seed 0

Use the interpreter that bench/setup_torch.sh prints.
"""

import argparse
import json
import os
import resource
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["mlp", "resnet20"], default="mlp")
    p.add_argument("--batch-size", type=int, default=60)
    p.add_argument("--steps", type=int, default=200,
                   help="timed training steps (K)")
    p.add_argument("--warmup", type=int, default=10,
                   help="untimed warm-up steps (W)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OPENBLAS_NUM_THREADS/MKL_NUM_THREADS (default: --threads). "
                        "Only for diagnosing BLAS/OpenMP oversubscription; the "
                        "JSON line always reports --threads.")
    args = p.parse_args()
    if args.blas_threads is None:
        args.blas_threads = args.threads
    if (args.batch_size < 1 or args.steps < 1 or args.warmup < 0
            or args.threads < 1 or args.blas_threads < 1):
        p.error("batch-size, steps and threads must be >= 1, warmup >= 0")
    return args


ARGS = parse_args()

# Thread counts must be in the environment before torch (and its OpenMP /
# BLAS runtimes) is loaded.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
for _var in ("MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.blas_threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def lenet_300_100():
    """LeNet-300-100: 784-300-100-10 with ReLU."""
    return nn.Sequential(
        nn.Linear(784, 300), nn.ReLU(inplace=True),
        nn.Linear(300, 100), nn.ReLU(inplace=True),
        nn.Linear(100, 10),
    )


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            # Option B: 1x1 projection shortcut where the shape changes.
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(cout),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    """CIFAR ResNet-20 (He et al. 2016), 3 stages x 3 BasicBlocks, 16/32/64."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = conv3x3(3, 16)
        self.bn1 = nn.BatchNorm2d(16)
        layers = []
        cin = 16
        for i, cout in enumerate((16, 32, 64)):
            for j in range(3):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, cout, stride))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


# --------------------------------------------------------------------------
# Build info
# --------------------------------------------------------------------------

def print_config():
    log(f"[torch_train] torch {torch.__version__} from {os.path.dirname(torch.__file__)}")
    log(f"[torch_train] python {sys.version.split()[0]} ({sys.executable})")
    log(f"[torch_train] mkldnn(oneDNN) available={torch.backends.mkldnn.is_available()} "
        f"enabled={torch.backends.mkldnn.enabled}; "
        f"mkl available={torch.backends.mkl.is_available()}; "
        f"openmp available={torch.backends.openmp.is_available()}")
    cfg = torch.__config__.show()
    keep = ("MKL", "oneDNN", "MKL-DNN", "OpenMP", "LAPACK", "CPU capability",
            "BLAS_INFO", "Build settings")
    for line in cfg.splitlines():
        s = line.strip()
        if not s.startswith("- "):
            continue
        if s.startswith("- Build settings:"):
            # Only the BLAS/LAPACK/backend flags of the long settings line.
            kvs = [kv.strip() for kv in s[len("- Build settings:"):].split(",")]
            wanted = [kv for kv in kvs if kv.split("=")[0] in
                      ("BLAS_INFO", "LAPACK_INFO", "TORCH_VERSION", "USE_MKL",
                       "USE_MKLDNN", "USE_OPENMP", "USE_CUDA")]
            log("[torch_train] build: " + ", ".join(wanted))
        elif any(k in s for k in keep):
            log("[torch_train] build: " + s[2:])
    for line in torch.__config__.parallel_info().splitlines():
        s = line.strip()
        if s.startswith(("ATen parallel backend", "at::get_num_threads",
                         "at::get_num_interop_threads", "OpenMP", "MKL",
                         "omp_get_max_threads", "mkl_get_max_threads")):
            log("[torch_train] parallel: " + s)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    args = ARGS
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    print_config()

    if args.model == "mlp":
        model = lenet_300_100()
        x = torch.randn(args.batch_size, 784)
    else:
        model = ResNet20()
        x = torch.randn(args.batch_size, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch_size,))
    model.train()

    n_params = sum(p.numel() for p in model.parameters())
    log(f"[torch_train] model={args.model} parameters={n_params:,} "
        f"batch_size={args.batch_size} threads={torch.get_num_threads()} "
        f"warmup={args.warmup} steps={args.steps} seed={args.seed}")
    log("[torch_train] env: " + " ".join(
        f"{k}={os.environ[k]}" for k in
        ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
         "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "LD_LIBRARY_PATH", "LD_PRELOAD")
        if k in os.environ))

    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                          weight_decay=5e-4)

    def step():
        out = model(x)
        loss = F.cross_entropy(out, y)
        # set_to_none=True is the default from torch 2.0 on; pinned here so
        # that 1.13 and 2.x do the same work.
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    loss = None
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        loss = step()
    t1 = time.perf_counter()
    if loss is not None:
        log(f"[torch_train] warm-up: {args.warmup} steps in {t1 - t0:.2f} s, "
            f"loss={loss.item():.4f}")

    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    elapsed = time.perf_counter() - start
    final_loss = loss.item()  # CPU ops are synchronous; read after timing

    ips = args.batch_size * args.steps / elapsed
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    log(f"[torch_train] timed: {args.steps} steps in {elapsed:.2f} s "
        f"({1000.0 * elapsed / args.steps:.2f} ms/step), final loss={final_loss:.4f}")

    result = {
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "model": args.model,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "images_per_second": round(ips, 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "steps": args.steps,
    }
    print(json.dumps(result, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
