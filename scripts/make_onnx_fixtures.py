#!/usr/bin/env python3
"""Writes the ONNX import fixtures of Tests/ShearsNNTests/Fixtures from PyTorch, with PyTorch's outputs on fixed
inputs beside them. Run offline by a developer with torch (e.g. the interpreter bench/setup_torch.sh prints, or
.venv-test/bin/python after scripts/setup_pyenv.sh); the outputs are committed, each well under 1 MB:

    python scripts/make_onnx_fixtures.py [OUT_DIR]

For each model NAME: NAME.onnx (torch.onnx.export, opset 17, batch dynamic, eval mode with batch norm kept as
BatchNormalization nodes) and NAME.io.safetensors (F32 `input` and `output`: PyTorch's eval-mode output on that
input). `resnet18_tv`, the torchvision-layout ResNet-18 of docs/interop.md (44 MB), is written only when asked:

    python scripts/make_onnx_fixtures.py OUT_DIR resnet18_tv
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class TinyCNN(nn.Module):
    """Every import op a CNN uses: grouped and dilated convs, BN, ReLU / LeakyRelu / Sigmoid, residual Add,
    a sigmoid gate (Mul), Concat, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm."""

    def __init__(self, classes=5):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=4)
        self.bn2 = nn.BatchNorm2d(8)
        self.dilated = nn.Conv2d(8, 4, 3, padding=2, dilation=2)
        self.gate = nn.Conv2d(8, 4, 1)
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.stem(x)))
        h = F.relu(self.bn2(self.grouped(h)) + h)                      # residual add
        a = F.leaky_relu(self.dilated(h), 0.1)
        b = torch.sigmoid(self.gate(h)) * a                            # gate: Sigmoid, Mul
        h = torch.cat([a, b], dim=1)                                   # Concat
        h = F.max_pool2d(h, 2)
        h = F.avg_pool2d(F.relu(self.down(h)), 2)
        h = F.adaptive_avg_pool2d(h, 1)                                # GlobalAveragePool
        return self.fc(torch.flatten(h, 1))


class TinyMLP(nn.Module):
    """Flatten, Gemm, MatMul with a bare parameter, broadcast Add, Dropout, Sigmoid, Reshape."""

    def __init__(self, classes=4):
        super().__init__()
        self.fc1 = nn.Linear(2 * 4 * 4, 24)
        self.proj = nn.Parameter(torch.randn(24, 12) * 0.2)
        self.shift = nn.Parameter(torch.randn(12) * 0.1)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(12, classes)

    def forward(self, x):
        h = torch.flatten(x, 1)
        h = F.relu(self.fc1(h))
        h = torch.sigmoid(torch.matmul(self.drop(h), self.proj) + self.shift)
        h = h.reshape(-1, 3, 4).reshape(-1, 12)
        return self.fc2(h)


class BasicBlockTV(nn.Module):
    """torchvision's BasicBlock layout: conv1/bn1/conv2/bn2, downsample.0 (conv) / downsample.1 (BN)."""

    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18TV(nn.Module):
    """torchvision.models.resnet18's module names and ImageNet stem (conv7×7/2, max pool 3×3/2)."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, inp = [], 64
        for i, planes in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlockTV(inp, planes, stride), BasicBlockTV(planes, planes, 1)))
            inp = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def randomize_batch_norm(model, g):
    """Non-trivial running statistics and affine parameters, so that a wrong BN import shows."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def write_safetensors(path, tensors):
    """A minimal safetensors writer (F32 only): 8-byte header length, JSON header, data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def export(model, shape, out_dir, name, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        randomize_batch_norm(model, g)
    model.eval()
    x = torch.randn(shape, generator=g)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, f"{name}.onnx")
    # TrainingMode.PRESERVE on an eval-mode model keeps BatchNormalization nodes (EVAL folds them into the convs,
    # which would leave nothing to train); constant folding off keeps PyTorch's initializer names.
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    write_safetensors(os.path.join(out_dir, f"{name}.io.safetensors"), {"input": x, "output": y})
    print(f"{path}: {os.path.getsize(path)} bytes, input {list(shape)}, output {list(y.shape)}")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "ShearsNNTests", "Fixtures")
    which = sys.argv[2:] or ["tiny_cnn", "tiny_mlp"]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    makers = {"tiny_cnn": (lambda: TinyCNN(), (3, 3, 16, 16), 1),
              "tiny_mlp": (lambda: TinyMLP(), (3, 2, 4, 4), 2),
              "resnet18_tv": (lambda: ResNet18TV(), (2, 3, 64, 64), 3)}
    for name in which:
        make, shape, seed = makers[name]
        torch.manual_seed(seed)
        export(make(), shape, out_dir, name, seed)


if __name__ == "__main__":
    main()
