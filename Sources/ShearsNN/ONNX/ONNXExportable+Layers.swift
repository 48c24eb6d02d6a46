import ONNXProto
import ShearsTensor

// Each layer and zoo model describes its inference-mode forward pass as ONNX nodes, in the order its
// `callAsFunction` runs them. Initializer names are the state dict's (`ONNXGraphBuilder.join(prefix, …)`), so
// an exported file carries PyTorch's names; shapes come from the weights, so any widths export.

/// Emits `layer` (which must be ONNXExportable) under `prefix`.
func emit(_ layer: any Layer, _ g: ONNXGraphBuilder, _ x: String, _ prefix: String) throws -> String {
    guard let e = layer as? ONNXExportable else {
        throw ONNXError("\(prefix.isEmpty ? "the model" : prefix) (\(type(of: layer))) cannot be exported to ONNX: "
            + "it does not implement ONNXExportable")
    }
    return try e.emitONNX(into: g, input: x, prefix: prefix)
}

extension Linear: ONNXExportable {
    /// Gemm(x, W, b) with transB = 1: y = x·Wᵀ + b, as PyTorch exports `nn.Linear`.
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        var inputs = [x, ONNXGraphBuilder.join(prefix, "weight")]
        g.initializer(inputs[1], weight)
        if let bias {
            inputs.append(ONNXGraphBuilder.join(prefix, "bias"))
            g.initializer(inputs[2], bias)
        }
        return g.node("Gemm", inputs, prefix: prefix, [.float("alpha", 1), .float("beta", 1), .int("transB", 1)])
    }
}

extension Conv2d: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        var inputs = [x, ONNXGraphBuilder.join(prefix, "weight")]
        g.initializer(inputs[1], weight)
        if let bias {
            inputs.append(ONNXGraphBuilder.join(prefix, "bias"))
            g.initializer(inputs[2], bias)
        }
        let ws = weight.shape
        return g.node("Conv", inputs, prefix: prefix, [
            .ints("dilations", [1, 1]), .int("group", 1), .ints("kernel_shape", [ws[2], ws[3]]),
            .ints("pads", [padding, padding, padding, padding]), .ints("strides", [stride, stride]),
        ])
    }
}

extension BatchNorm: ONNXExportable {
    /// BatchNormalization on the running statistics; ONNX's momentum is PyTorch's 1 − momentum.
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        let names = ["weight", "bias", "running_mean", "running_var"].map { ONNXGraphBuilder.join(prefix, $0) }
        for (name, v) in zip(names, [weight, bias, runningMean, runningVar]) { g.initializer(name, v) }
        return g.node("BatchNormalization", [x] + names, prefix: prefix,
                      [.float("epsilon", eps), .float("momentum", 1 - momentum), .int("training_mode", 0)])
    }

    /// BatchNormalization followed by Relu (the fused `bn(x, fusedReLU: true)` of the models).
    func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String, relu: Bool) throws -> String {
        let y = try emitONNX(into: g, input: x, prefix: prefix)
        return relu ? g.node("Relu", [y], prefix: prefix) : y
    }
}

extension ONNXGraphBuilder {
    func relu(_ x: String, _ prefix: String) -> String { node("Relu", [x], prefix: prefix) }
    func flatten(_ x: String, _ prefix: String) -> String { node("Flatten", [x], prefix: prefix, [.int("axis", 1)]) }
    func maxPool(_ x: String, _ prefix: String, kernel: Int, stride: Int, padding: Int = 0) -> String {
        node("MaxPool", [x], prefix: prefix, [.int("ceil_mode", 0), .ints("kernel_shape", [kernel, kernel]),
                                             .ints("pads", [padding, padding, padding, padding]), .ints("strides", [stride, stride])])
    }
    /// GlobalAveragePool + Flatten, as `globalAvgPool2d` ([N, C, H, W] → [N, C]).
    func globalAvgPool(_ x: String, _ prefix: String) -> String { flatten(node("GlobalAveragePool", [x], prefix: prefix), prefix) }
}

extension MLP: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        var h = g.flatten(x, prefix)
        for (i, layer) in layers.enumerated() {
            h = try layer.emitONNX(into: g, input: h, prefix: ONNXGraphBuilder.join(prefix, "fc\(i + 1)"))
            if i < layers.count - 1 { h = g.relu(h, prefix) }
        }
        return h
    }
}

extension ConvNet: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        var h = x
        for (i, conv) in convs.enumerated() {
            let p = ONNXGraphBuilder.join(prefix, "convs.\(Self.sequentialIndex(conv: i))")
            h = g.relu(try conv.emitONNX(into: g, input: h, prefix: p), p)
            if i % 2 == 1 { h = g.maxPool(h, p, kernel: 2, stride: 2) }
        }
        h = g.flatten(h, prefix)
        for (i, fc) in fcs.enumerated() {
            let p = ONNXGraphBuilder.join(prefix, "linear.\(2 * i)")
            h = try fc.emitONNX(into: g, input: h, prefix: p)
            if i < fcs.count - 1 { h = g.relu(h, p) }
        }
        return h
    }
}

extension VGG: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        var h = x
        for i in convs.indices {
            let p = ONNXGraphBuilder.join(prefix, "features.\(featureIndices[i])")
            h = try convs[i].emitONNX(into: g, input: h, prefix: p)
            h = try bns[i].emitONNX(into: g, input: h, prefix: ONNXGraphBuilder.join(prefix, "features.\(featureIndices[i] + 1)"), relu: true)
            if poolAfter[i] { h = g.maxPool(h, p, kernel: 2, stride: 2) }
        }
        return try classifier.emitONNX(into: g, input: g.flatten(h, prefix), prefix: ONNXGraphBuilder.join(prefix, "classifier"))
    }
}

extension ProjectionShortcut: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        let h = try conv.emitONNX(into: g, input: x, prefix: ONNXGraphBuilder.join(prefix, "0"))
        return try bn.emitONNX(into: g, input: h, prefix: ONNXGraphBuilder.join(prefix, "1"))
    }
}

extension BasicBlock: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        func p(_ s: String) -> String { ONNXGraphBuilder.join(prefix, s) }
        var h = try conv1.emitONNX(into: g, input: x, prefix: p("conv1"))
        h = try bn1.emitONNX(into: g, input: h, prefix: p("bn1"), relu: true)
        h = try conv2.emitONNX(into: g, input: h, prefix: p("conv2"))
        h = try bn2.emitONNX(into: g, input: h, prefix: p("bn2"))
        let identity = try shortcut.map { try $0.emitONNX(into: g, input: x, prefix: p("shortcut")) } ?? x
        return g.relu(g.node("Add", [h, identity], prefix: prefix), prefix)
    }
}

extension Bottleneck: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        func p(_ s: String) -> String { ONNXGraphBuilder.join(prefix, s) }
        var h = try conv1.emitONNX(into: g, input: x, prefix: p("conv1"))
        h = try bn1.emitONNX(into: g, input: h, prefix: p("bn1"), relu: true)
        h = try conv2.emitONNX(into: g, input: h, prefix: p("conv2"))
        h = try bn2.emitONNX(into: g, input: h, prefix: p("bn2"), relu: true)
        h = try conv3.emitONNX(into: g, input: h, prefix: p("conv3"))
        h = try bn3.emitONNX(into: g, input: h, prefix: p("bn3"))
        let identity = try shortcut.map { try $0.emitONNX(into: g, input: x, prefix: p("shortcut")) } ?? x
        return g.relu(g.node("Add", [h, identity], prefix: prefix), prefix)
    }
}

/// Residual stages named `layer1.0`, `layer1.1`, … as `prefixedStages` names them.
func emitStages(_ stages: [[any Layer]], _ g: ONNXGraphBuilder, _ x: String, _ prefix: String) throws -> String {
    var h = x
    for (s, stage) in stages.enumerated() {
        for (b, block) in stage.enumerated() { h = try emit(block, g, h, ONNXGraphBuilder.join(prefix, "layer\(s + 1).\(b)")) }
    }
    return h
}

extension ResNetCIFAR: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        func p(_ s: String) -> String { ONNXGraphBuilder.join(prefix, s) }
        var h = try conv1.emitONNX(into: g, input: x, prefix: p("conv1"))
        h = try bn1.emitONNX(into: g, input: h, prefix: p("bn1"), relu: true)
        h = try emitStages(stages, g, h, prefix)
        return try fc.emitONNX(into: g, input: g.globalAvgPool(h, prefix), prefix: p("fc"))
    }
}

extension ResNet: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        func p(_ s: String) -> String { ONNXGraphBuilder.join(prefix, s) }
        var h = try conv1.emitONNX(into: g, input: x, prefix: p("conv1"))
        h = try bn1.emitONNX(into: g, input: h, prefix: p("bn1"), relu: true)
        if stem == .imagenet { h = g.maxPool(h, prefix, kernel: 3, stride: 2, padding: 1) }
        h = try emitStages(stages, g, h, prefix)
        return try fc.emitONNX(into: g, input: g.globalAvgPool(h, prefix), prefix: p("fc"))
    }
}

extension WideBasicBlock: ONNXExportable {
    /// Inference mode: the dropout between the convolutions is the identity, so it emits nothing.
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        func p(_ s: String) -> String { ONNXGraphBuilder.join(prefix, s) }
        var h = try bn1.emitONNX(into: g, input: x, prefix: p("bn1"), relu: true)
        h = try conv1.emitONNX(into: g, input: h, prefix: p("conv1"))
        h = try bn2.emitONNX(into: g, input: h, prefix: p("bn2"), relu: true)
        h = try conv2.emitONNX(into: g, input: h, prefix: p("conv2"))
        let identity = try shortcut.map { try $0.emitONNX(into: g, input: x, prefix: p("shortcut.0")) } ?? x
        return g.node("Add", [h, identity], prefix: prefix)
    }
}

extension WideResNet: ONNXExportable {
    public func emitONNX(into g: ONNXGraphBuilder, input x: String, prefix: String) throws -> String {
        func p(_ s: String) -> String { ONNXGraphBuilder.join(prefix, s) }
        var h = try conv1.emitONNX(into: g, input: x, prefix: p("conv1"))
        h = try emitStages(groups, g, h, prefix)
        h = try bn1.emitONNX(into: g, input: h, prefix: p("bn1"), relu: true)
        return try linear.emitONNX(into: g, input: g.globalAvgPool(h, prefix), prefix: p("linear"))
    }
}
