"""ONNX Runtime and DeepSparse run a Shears ONNX export with Shears' own predictions (issue #15's check).

    python bench/engines_check.py MODEL.onnx IO.safetensors [--batch 100]

IO.safetensors is `shears eval … --io-out`: `input` (the test examples as the network receives them), `output`
(Shears' logits) and `label`. Both engines get the same inputs; for each, the script prints the largest logit
difference from Shears (absolute, and relative to the largest |logit|), how many top-1 predictions differ, and the
accuracy of each on the labels, as one JSON line per engine. Exit status 1 when an engine's logits differ from
Shears' by more than --tolerance × max(1, max |logit|), or a prediction differs where Shears' top two logits are
further apart than that (a near-tie may flip on summation order, nothing else may).
Runs in the venv of bench/setup_deepsparse.sh (deepsparse 1.8.0 needs onnx < 1.15, hence its own venv).
"""
import argparse
import json
import sys
import time

import numpy as np
import onnx
from safetensors.numpy import load_file


def compare(name, logits, ref, labels, tolerance, seconds):
    scale = max(1.0, float(np.abs(ref).max()))
    diff = float(np.abs(logits - ref).max())
    top_ref, top = ref.argmax(1), logits.argmax(1)
    srt = np.sort(ref, axis=1)
    gap = srt[:, -1] - srt[:, -2]
    flipped = top != top_ref
    serious = int((flipped & (gap > tolerance * scale)).sum())
    row = {"engine": name, "examples": int(ref.shape[0]), "max_abs_diff": diff, "max_rel_diff": diff / scale,
           "top1_differ": int(flipped.sum()), "top1_differ_beyond_near_ties": serious,
           "accuracy_engine": float((top == labels).mean()), "accuracy_shears": float((top_ref == labels).mean()),
           "seconds": round(seconds, 3)}
    print(json.dumps(row))
    return diff <= tolerance * scale and serious == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("io")
    ap.add_argument("--batch", type=int, default=100, help="examples per engine call (DeepSparse compiles one batch size)")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    m = onnx.load(args.model)
    onnx.checker.check_model(m)
    io = load_file(args.io)
    x, ref, labels = io["input"].astype(np.float32), io["output"].astype(np.float32), io["label"]
    n = (x.shape[0] // args.batch) * args.batch
    if n == 0:
        sys.exit(f"engines_check: {args.io} holds {x.shape[0]} examples, fewer than --batch {args.batch}")
    x, ref, labels = np.ascontiguousarray(x[:n]), ref[:n], labels[:n]
    input_name = m.graph.input[0].name
    meta = {p.key: p.value for p in m.metadata_props}
    print(json.dumps({"model": args.model, "opset": m.opset_import[0].version, "ir_version": m.ir_version, "input": input_name,
                      "metadata": meta, "examples": n}))
    ok = True

    import onnxruntime as ort
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    t = time.perf_counter()
    out = np.concatenate([session.run(None, {input_name: x[i:i + args.batch]})[0] for i in range(0, n, args.batch)])
    ok &= compare(f"onnxruntime {ort.__version__}", out, ref, labels, args.tolerance, time.perf_counter() - t)

    import deepsparse
    engine = deepsparse.compile_model(args.model, batch_size=args.batch)
    t = time.perf_counter()
    out = np.concatenate([engine([x[i:i + args.batch]])[0] for i in range(0, n, args.batch)])
    ok &= compare(f"deepsparse {deepsparse.__version__}", out, ref, labels, args.tolerance, time.perf_counter() - t)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
