"""PyTorch models of Shears' ModelZoo, with Shears' state_dict names, for the PyTorch peers of the benchmarks
(bench/torch_infer.py, bench/torch_structured.py): LeNet-300-100 (fc1..fc3), the CIFAR ResNets with 1x1 projection
shortcuts (conv1, layer1.0.conv1, layer2.0.shortcut.0, ...) and VGG-16 with batch norm (features.N, classifier), at
the nominal widths or at any per-layer output widths (Shears' `shears.widths`: layer name -> channels). Import after
setting the thread environment variables: this imports torch."""

import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 300), nn.Linear(300, 100), nn.Linear(100, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, cin, mid, cout, stride, projection):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, mid, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) \
            if projection else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNetCIFAR(nn.Module):
    """6n+2 layers; `w(name, nominal)` gives each conv's output width."""

    def __init__(self, depth, w=lambda name, nominal: nominal):
        super().__init__()
        n = (depth - 2) // 6
        stem = w("conv1", 16)
        self.conv1 = nn.Conv2d(3, stem, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        cin = stem
        for s, nominal in enumerate((16, 32, 64)):
            blocks = []
            projection_stage = s > 0
            # The stage's residual width: the projection's, else tied to the stem (identity shortcuts in stage 1).
            cout = w(f"layer{s + 1}.0.shortcut.0", nominal) if projection_stage else cin
            for b in range(n):
                prefix = f"layer{s + 1}.{b}"
                stride = 2 if projection_stage and b == 0 else 1
                blocks.append(Block(cin, w(prefix + ".conv1", nominal), cout, stride, projection_stage and b == 0))
                cin = cout
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class VGG16(nn.Module):
    PLAN = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

    def __init__(self, w=lambda name, nominal: nominal):
        super().__init__()
        layers, cin = [], 3
        for item in self.PLAN:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                out = w(f"features.{len(layers)}", item)
                layers += [nn.Conv2d(cin, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                cin = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def build(model, widths=None):
    w = (lambda name, nominal: widths.get(name, nominal)) if widths else (lambda name, nominal: nominal)
    return {"resnet20": lambda: ResNetCIFAR(20, w), "resnet56": lambda: ResNetCIFAR(56, w),
            "vgg16": lambda: VGG16(w)}[model]()
