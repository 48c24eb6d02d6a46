import ShearsNN
import ShearsPrune
import ShearsTensor

/// A thin member of every zoo family (the same code paths as the zoo models, small enough for debug-mode tests),
/// with the input shape it runs on and a builder of the same family at other widths.
struct ThinFamily {
    let name: String
    let inputShape: [Int]
    let make: ([String: Int]) -> any Layer

    static let all: [ThinFamily] = [
        ThinFamily(name: "mlp", inputShape: [3, 2, 2]) { w in
            var g = Generator(seed: 1)
            return MLP(inputs: 12, hidden: [8, 6], classes: 3, widths: LayerWidths(w), generator: &g)
        },
        ThinFamily(name: "conv2", inputShape: [3, 8, 8]) { w in
            var g = Generator(seed: 2)
            return ConvNet(depth: 2, inputChannels: 3, imageSize: 8, classes: 5, widths: LayerWidths(w, nominalDivisor: 8), generator: &g)
        },
        ThinFamily(name: "conv6", inputShape: [3, 8, 8]) { w in
            var g = Generator(seed: 3)
            return ConvNet(depth: 6, inputChannels: 3, imageSize: 8, classes: 5, widths: LayerWidths(w, nominalDivisor: 16), generator: &g)
        },
        ThinFamily(name: "vgg11", inputShape: [3, 32, 32]) { w in
            var g = Generator(seed: 4)
            return VGG(depth: 11, classes: 10, inputChannels: 3, widths: LayerWidths(w, nominalDivisor: 16), generator: &g)
        },
        ThinFamily(name: "resnet-cifar", inputShape: [3, 8, 8]) { w in
            var g = Generator(seed: 5)
            return ResNetCIFAR(depth: 14, classes: 10, width: 4, widths: LayerWidths(w), generator: &g)
        },
        ThinFamily(name: "resnet18", inputShape: [3, 8, 8]) { w in
            var g = Generator(seed: 6)
            return ResNet(depth: 18, classes: 10, widths: LayerWidths(w, nominalDivisor: 16), generator: &g)
        },
        ThinFamily(name: "resnet50", inputShape: [3, 8, 8]) { w in
            var g = Generator(seed: 7)
            return ResNet(depth: 50, classes: 10, widths: LayerWidths(w, nominalDivisor: 16), generator: &g)
        },
        ThinFamily(name: "wrn", inputShape: [3, 8, 8]) { w in
            var g = Generator(seed: 8)
            return WideResNet(depth: 10, widen: 2, classes: 10, widths: LayerWidths(w, nominalDivisor: 4), generator: &g)
        },
    ]
}

/// Non-trivial batch-norm parameters and statistics (γ, β, running mean and variance drawn), so that a removed
/// channel's batch norm would show if it leaked into the compacted model.
func randomizeBatchNorms(_ model: any Layer, seed: UInt64) {
    var g = Generator(seed: seed)
    for (name, v) in model.stateDict where v.shape.count == 1 {
        let n = v.shape[0]
        if name.hasSuffix("running_var") || (name.hasSuffix(".weight")) {
            v.value = Tensor.uniform([n], low: 0.5, high: 1.5, generator: &g)
        } else if name.hasSuffix("running_mean") || name.hasSuffix(".bias") {
            v.value = Tensor.uniform([n], low: -0.2, high: 0.2, generator: &g)
        }
    }
}

/// About half of every prunable group's channels, drawn from `seed` (at least one kept).
func randomSelection(_ groups: [DependencyGroup], seed: UInt64) -> ChannelSelection {
    var g = Generator(seed: seed)
    var out: ChannelSelection = [:]
    for group in groups where group.prunable {
        var kept = (0..<group.channels).filter { _ in g.nextFloat() < 0.5 }
        if kept.isEmpty { kept = [g.nextInt(below: group.channels)] }
        out[group.name] = kept
    }
    return out
}
