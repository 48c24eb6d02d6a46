"""Checks, by hand, that files written by Shears' SafetensorsFile.write / saveStateDict load in Python.

    SHEARS_IO_CROSSCHECK_DIR=/tmp/xc swift test --filter CrossCheckTests
    python crosscheck.py /tmp/xc          # needs safetensors + numpy; the PyTorch part runs if torch imports

1. safetensors.numpy.load_file reads every dtype Shears writes with the expected values.
2. safetensors.torch.load_file reads a ResNet-8 state_dict saved by saveStateDict; a PyTorch ResNet-8 with
   the same module names loads it with load_state_dict(strict=True) and reproduces Shears' inference outputs.
"""
import sys

import numpy as np
from safetensors.numpy import load_file

d = sys.argv[1]

expected = {
    "F32": (np.float32, [0, -1.5, 3.25e-8, 1e30]),
    "F64": (np.float64, [np.float32(0.1), -2, np.float32(1e-30), 7]),
    "F16": (np.float16, [0.5, -2, 65504, 2.0 ** -24]),
    "BF16": (None, [1, -2.5, 3.140625, 2.0 ** 100]),
    "I64": (np.int64, [0, -1, 16777216, -8589934592]),
    "I32": (np.int32, [2147483520, -2147483648, 0, 5]),
    "I16": (np.int16, [-32768, 32767, 0, 12]),
    "I8": (np.int8, [-128, 127, 0, -3]),
    "U8": (np.uint8, [0, 1, 128, 255]),
    "BOOL": (np.bool_, [False, True, True, False]),
}
t = load_file(f"{d}/dtypes.safetensors")
for name, (dtype, values) in expected.items():
    if name == "BF16":
        continue  # numpy has no bfloat16: bf16.safetensors is checked with torch below
    a = t[f"t.{name}"]
    assert a.dtype == dtype, (name, a.dtype)
    assert a.shape == (2, 2), (name, a.shape)
    assert np.array_equal(a.reshape(-1), np.array(values, dtype=dtype)), (name, a)
assert t["scalar"].dtype == np.float32 and t["scalar"].shape == () and t["scalar"] == 42
assert np.array_equal(t["channels_last"], np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5))
print("numpy: dtypes.safetensors OK:", ", ".join(f"{k} {t[k].dtype}{list(t[k].shape)}" for k in sorted(t)))
r = load_file(f"{d}/resnet8.safetensors")
assert r["bn1.num_batches_tracked"].dtype == np.int64 and r["bn1.num_batches_tracked"].shape == ()
print(f"numpy: resnet8.safetensors OK: {len(r)} tensors, bn1.num_batches_tracked = {r['bn1.num_batches_tracked']} (int64)")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch not importable: skipped the PyTorch checks")
    sys.exit(0)

from safetensors import safe_open
from safetensors.torch import load_file as torch_load

t = torch_load(f"{d}/dtypes.safetensors")
b = torch_load(f"{d}/bf16.safetensors")["t.BF16"]
assert b.dtype == torch.bfloat16
assert torch.equal(b.float().reshape(-1), torch.tensor([1, -2.5, 3.140625, 2.0 ** 100]))
assert t["t.I64"].dtype == torch.int64 and t["t.BOOL"].dtype == torch.bool
with safe_open(f"{d}/dtypes.safetensors", framework="pt") as f:
    assert f.metadata() == {"format": "pt", "who": "shears"}, f.metadata()
print("torch: dtypes.safetensors OK (BF16, I64, BOOL, metadata)")


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(Block(16, 16, 1))
        self.layer2 = nn.Sequential(Block(16, 32, 2))
        self.layer3 = nn.Sequential(Block(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


sd = torch_load(f"{d}/resnet8.safetensors")
x, y = sd.pop("_input"), sd.pop("_output")
assert sd["bn1.num_batches_tracked"].dtype == torch.int64, sd["bn1.num_batches_tracked"].dtype
model = ResNet8()
model.load_state_dict(sd, strict=True)
model.eval()
with torch.no_grad():
    out = model(x)
err = (out - y).abs().max().item()
print(f"torch: resnet8.safetensors: load_state_dict(strict=True) OK, {len(sd)} entries, "
      f"bn1.num_batches_tracked={sd['bn1.num_batches_tracked'].item()} (int64), "
      f"max |PyTorch(x) - Shears(x)| = {err:.3g}")
assert err < 1e-4, err
