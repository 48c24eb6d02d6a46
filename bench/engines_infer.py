#!/usr/bin/env python3
"""The deployment engines' peer of `shears bench infer`: ONNX Runtime and DeepSparse 1.8.0 timing the ONNX export of the
very weights Shears timed (`shears bench infer --save-weights W` then `shears export W --format onnx`).

    python bench/engines_infer.py MODEL.onnx --model resnet20 --sparsity 0.9 --batch-size 1 --threads 2 --iterations 200

Prints one JSON line per engine with the keys of `shears bench infer` that apply (framework, model, batch_size,
sparsity, threads, img_s). Time per call is the median of --iterations calls after 10 untimed ones, on one fixed
normal batch. ONNX Runtime: CPU provider, intra-op threads = --threads, inter-op 1, all graph optimisations (it
folds batch norm and fuses as Shears' plan does). DeepSparse: `compile_model(batch_size, num_cores=--threads)`.
Runs in the venv of bench/setup_deepsparse.sh, which holds both engines.
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnx


def timed(call, x, iterations):
    for _ in range(10):
        call(x)
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("onnx")
    ap.add_argument("--model", required=True)
    ap.add_argument("--sparsity", type=float, required=True)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--engines", default="onnxruntime,deepsparse")
    args = ap.parse_args()
    m = onnx.load(args.onnx)
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim][1:]
    x = np.random.default_rng(0).standard_normal([args.batch_size] + dims).astype(np.float32)
    name = m.graph.input[0].name
    row = {"model": args.model, "batch_size": args.batch_size, "sparsity": args.sparsity, "threads": args.threads}
    for engine in args.engines.split(","):
        if engine == "onnxruntime":
            import onnxruntime as ort
            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
            seconds = timed(lambda a: session.run(None, {name: a}), x, args.iterations)
            version = ort.__version__
        elif engine == "deepsparse":
            import deepsparse
            compiled = deepsparse.compile_model(args.onnx, batch_size=args.batch_size, num_cores=args.threads)
            seconds = timed(lambda a: compiled([a]), x, args.iterations)
            version = deepsparse.__version__
        else:
            raise SystemExit(f"engines_infer: unknown engine {engine!r} (onnxruntime, deepsparse)")
        print(json.dumps({"framework": engine, "version": version, **row,
                          "img_s": round(args.batch_size / seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
