// Gradient checks of every differentiable op against central finite differences of the Double references
// (Reference.swift), on seeded random inputs and shapes: odd sizes, stride 2, padding, with and without bias,
// contiguous and channels-last inputs, batch norm in training and inference. See `checkOp` (GradCheck.swift)
// for the method and the error metric.

import XCTest
@testable import ShearsTensor

final class OpGradientTests: XCTestCase {

    // MARK: helpers

    private func checkConv(_ name: String, x xs: [Int], w ws: [Int], bias: Bool, stride: Int, padding: Int,
                           channelsLast: Bool = false, xDifferentiable: Bool = true, _ g: inout Generator,
                           file: StaticString = #filePath, line: UInt = #line) {
        var x = randomTensor(xs, &g)
        if channelsLast { x = x.channelsLast() }
        let w = randomTensor(ws, &g, low: -0.5, high: 0.5)
        var inputs = [OpInput("x", x, differentiable: xDifferentiable), OpInput("weight", w)]
        if bias { inputs.append(OpInput("bias", randomTensor([ws[0]], &g))) }
        let label = "\(name): conv2d x\(xs) w\(ws) bias=\(bias) stride=\(stride) padding=\(padding)"
            + (channelsLast ? " channelsLast" : "")
        checkOp(label, inputs: inputs, generator: &g,
                op: { v in conv2d(v[0], weight: v[1], bias: bias ? v[2] : nil, stride: stride, padding: padding) },
                reference: { d in Ref.conv2d(d[0], xs, d[1], ws, bias: bias ? d[2] : nil, stride: stride, padding: padding).y },
                file: file, line: line)
    }

    private func checkBatchNorm(_ shape: [Int], phase: LearningPhase, channelsLast: Bool = false, fusedReLU: Bool = false,
                                _ g: inout Generator, file: StaticString = #filePath, line: UInt = #line) {
        let c = shape[1]
        var x = randomTensor(shape, &g, low: -1.5, high: 2.5)
        if channelsLast { x = x.channelsLast() }
        let gamma = randomTensor([c], &g, low: 0.5, high: 1.5)
        let beta = randomTensor([c], &g, low: -0.5, high: 0.5)
        let rm = randomTensor([c], &g, low: -0.3, high: 0.3)
        let rv = randomTensor([c], &g, low: 0.5, high: 1.5)
        let (rmD, rvD) = (rm.doubles, rv.doubles)
        let training = phase == .training
        let label = "batchNorm\(fusedReLU ? "ReLU" : "") \(shape) \(training ? "train" : "eval")" + (channelsLast ? " channelsLast" : "")
        checkOp(label, inputs: [OpInput("x", x), OpInput("gamma", gamma), OpInput("beta", beta)], generator: &g,
                op: { v in
                    // Fresh running-stat buffers each call, so that repeated calls see the same statistics.
                    batchNorm(v[0], weight: v[1], bias: v[2], runningMean: Variable(rm), runningVar: Variable(rv), phase: phase,
                              fusedReLU: fusedReLU)
                },
                reference: { d in
                    let y = training ? Ref.batchNormTrain(d[0], shape, gamma: d[1], beta: d[2])
                                     : Ref.batchNormEval(d[0], shape, gamma: d[1], beta: d[2], runningMean: rmD, runningVar: rvD)
                    return fusedReLU ? Ref.relu(y) : y
                },
                file: file, line: line)
    }

    private enum PoolKind { case max, avg }

    private func checkPool(_ kind: PoolKind, _ shape: [Int], kernel: Int, stride: Int?, padding: Int,
                           channelsLast: Bool = false, _ g: inout Generator,
                           file: StaticString = #filePath, line: UInt = #line) {
        var x = kind == .max ? distinctTensor(shape, &g) : randomTensor(shape, &g)
        if channelsLast { x = x.channelsLast() }
        let s = stride ?? kernel
        let label = "\(kind)Pool2d \(shape) kernel=\(kernel) stride=\(stride.map(String.init) ?? "default") padding=\(padding)"
            + (channelsLast ? " channelsLast" : "")
        checkOp(label, inputs: [OpInput("x", x)], generator: &g,
                op: { v in
                    kind == .max ? maxPool2d(v[0], kernel: kernel, stride: stride, padding: padding)
                                 : avgPool2d(v[0], kernel: kernel, stride: stride, padding: padding)
                },
                reference: { d in
                    kind == .max ? Ref.maxPool2d(d[0], shape, kernel: kernel, stride: s, padding: padding).y
                                 : Ref.avgPool2d(d[0], shape, kernel: kernel, stride: s, padding: padding).y
                },
                file: file, line: line)
    }

    // MARK: convolution

    func testConv2dGradientsFixedConfigurations() {
        var g = Generator(seed: 101)
        // Odd image sizes, batch 3 / 3 channels, stride 1 and 2, padding 0/1/2, kernel 1/3/5, with and without bias.
        checkConv("k3 s1 p1", x: [3, 3, 5, 7], w: [4, 3, 3, 3], bias: true, stride: 1, padding: 1, &g)
        checkConv("k3 s2 p1", x: [2, 3, 7, 5], w: [2, 3, 3, 3], bias: false, stride: 2, padding: 1, &g)
        checkConv("k5 s1 p2", x: [2, 2, 6, 7], w: [3, 2, 5, 5], bias: true, stride: 1, padding: 2, &g)
        checkConv("k1 s2 p0", x: [3, 3, 5, 5], w: [5, 3, 1, 1], bias: true, stride: 2, padding: 0, &g)
        checkConv("k5 s2 p2", x: [2, 3, 9, 7], w: [2, 3, 5, 5], bias: false, stride: 2, padding: 2, &g)
        checkConv("k3 s1 p0", x: [1, 4, 4, 6], w: [3, 4, 3, 3], bias: true, stride: 1, padding: 0, &g)
        checkConv("k3 s2 p0", x: [2, 1, 8, 7], w: [3, 1, 3, 3], bias: true, stride: 2, padding: 0, &g)
        checkConv("k1 s1 p1", x: [2, 3, 3, 5], w: [2, 3, 1, 1], bias: false, stride: 1, padding: 1, &g)
    }

    func testConv2dGradientsRandomShapes() {
        var g = Generator(seed: 102)
        for trial in 0..<5 {
            let k = [1, 3, 5][g.nextInt(below: 3)]
            let padding = g.nextInt(below: 3)
            let stride = 1 + g.nextInt(below: 2)
            let lo = max(1, k - 2 * padding)
            let h = lo + g.nextInt(below: 6), w = lo + g.nextInt(below: 6)
            let n = 1 + g.nextInt(below: 3), c = 1 + g.nextInt(below: 3), o = 1 + g.nextInt(below: 4)
            let bias = g.nextInt(below: 2) == 1
            checkConv("random trial \(trial)", x: [n, c, h, w], w: [o, c, k, k], bias: bias, stride: stride,
                      padding: padding, channelsLast: g.nextInt(below: 2) == 1, &g)
        }
    }

    func testConv2dGradientsChannelsLastInput() {
        var g = Generator(seed: 103)
        checkConv("k3 s1 p1", x: [3, 3, 5, 7], w: [4, 3, 3, 3], bias: true, stride: 1, padding: 1, channelsLast: true, &g)
        checkConv("k3 s2 p2", x: [2, 3, 7, 5], w: [2, 3, 3, 3], bias: false, stride: 2, padding: 2, channelsLast: true, &g)
    }

    func testConv2dGradientsWhenInputNeedsNoGrad() {
        // The first layer's input is data: only the weight and bias get gradients.
        var g = Generator(seed: 104)
        checkConv("data input", x: [2, 3, 5, 7], w: [3, 3, 3, 3], bias: true, stride: 2, padding: 1, xDifferentiable: false, &g)
    }

    // MARK: dense layers

    func testLinearGradients() {
        var g = Generator(seed: 201)
        for (n, inF, outF, bias) in [(5, 7, 3, true), (3, 4, 1, false), (1, 6, 5, true), (4, 1, 3, false)] {
            let xs = [n, inF], ws = [outF, inF]
            var inputs = [OpInput("x", randomTensor(xs, &g)), OpInput("weight", randomTensor(ws, &g))]
            if bias { inputs.append(OpInput("bias", randomTensor([outF], &g))) }
            checkOp("linear x\(xs) w\(ws) bias=\(bias)", inputs: inputs, generator: &g,
                    op: { v in linear(v[0], weight: v[1], bias: bias ? v[2] : nil) },
                    reference: { d in Ref.linear(d[0], xs, d[1], ws, bias: bias ? d[2] : nil) })
        }
        // Data input: only the parameters get gradients.
        let xs = [3, 5], ws = [2, 5]
        checkOp("linear data input", inputs: [OpInput("x", randomTensor(xs, &g), differentiable: false),
                                              OpInput("weight", randomTensor(ws, &g)), OpInput("bias", randomTensor([2], &g))],
                generator: &g, op: { v in linear(v[0], weight: v[1], bias: v[2]) },
                reference: { d in Ref.linear(d[0], xs, d[1], ws, bias: d[2]) })
    }

    func testMatmulGradients() {
        var g = Generator(seed: 202)
        for (m, k, n) in [(3, 5, 4), (1, 7, 1), (6, 1, 3), (2, 3, 7)] {
            checkOp("matmul [\(m),\(k)]·[\(k),\(n)]",
                    inputs: [OpInput("a", randomTensor([m, k], &g)), OpInput("b", randomTensor([k, n], &g))], generator: &g,
                    op: { v in matmul(v[0], v[1]) },
                    reference: { d in Ref.matmul(d[0], d[1], m: m, k: k, n: n) })
        }
    }

    // MARK: batch normalisation

    func testBatchNorm1dGradients() {
        var g = Generator(seed: 301)
        checkBatchNorm([6, 4], phase: .training, &g)
        checkBatchNorm([3, 5], phase: .training, &g)
        checkBatchNorm([5, 3], phase: .inference, &g)
        checkBatchNorm([1, 4], phase: .inference, &g)
    }

    func testBatchNorm2dGradients() {
        var g = Generator(seed: 302)
        checkBatchNorm([3, 3, 5, 7], phase: .training, &g)
        checkBatchNorm([2, 4, 3, 3], phase: .training, &g)
        checkBatchNorm([1, 2, 3, 5], phase: .training, &g)   // batch of one: statistics over H·W
        checkBatchNorm([2, 3, 5, 5], phase: .inference, &g)
        checkBatchNorm([3, 2, 3, 7], phase: .inference, &g)
    }

    /// The fused batchNorm + ReLU (oneDNN fuse_norm_relu) against relu(batchNorm) in Double.
    func testBatchNormReLUFusedGradients() {
        var g = Generator(seed: 305)
        checkBatchNorm([3, 3, 5, 7], phase: .training, fusedReLU: true, &g)
        checkBatchNorm([4, 5], phase: .training, fusedReLU: true, &g)
        checkBatchNorm([2, 3, 5, 5], phase: .inference, fusedReLU: true, &g)
        checkBatchNorm([3, 4, 4, 3], phase: .training, channelsLast: true, fusedReLU: true, &g)
    }

    /// The fused residual add + ReLU against relu(a + b) in Double, in both memory formats.
    func testAddReLUFusedGradients() {
        var g = Generator(seed: 306)
        for (shape, cl) in [([2, 3, 5, 7], false), ([3, 4, 3, 3], true), ([5, 6], false)] {
            var a = randomTensor(shape, &g), b = randomTensor(shape, &g)
            if cl { a = a.channelsLast(); b = b.channelsLast() }
            checkOp("addReLU \(shape) channelsLast=\(cl)", inputs: [OpInput("a", a), OpInput("b", b)], generator: &g,
                    op: { v in addReLU(v[0], v[1]) },
                    reference: { d in Ref.relu(Ref.add(d[0], d[1])) })
        }
    }

    func testBatchNorm2dGradientsChannelsLastInput() {
        var g = Generator(seed: 303)
        checkBatchNorm([3, 3, 5, 7], phase: .training, channelsLast: true, &g)
        checkBatchNorm([2, 3, 5, 5], phase: .inference, channelsLast: true, &g)
    }

    func testBatchNormGradientsRandomShapes() {
        var g = Generator(seed: 304)
        for _ in 0..<3 {
            let n = 2 + g.nextInt(below: 3), c = 1 + g.nextInt(below: 4)
            let rank4 = g.nextInt(below: 2) == 1
            let shape = rank4 ? [n, c, 1 + g.nextInt(below: 5), 1 + g.nextInt(below: 5)] : [n, c]
            let phase: LearningPhase = g.nextInt(below: 2) == 1 ? .training : .inference
            checkBatchNorm(shape, phase: phase, channelsLast: rank4 && g.nextInt(below: 2) == 1, &g)
        }
    }

    // MARK: activation and pooling

    func testReluGradients() {
        var g = Generator(seed: 401)
        for (shape, cl) in [([5, 7], false), ([2, 3, 5, 7], false), ([2, 3, 5, 7], true), ([9], false)] {
            var x = awayFromZeroTensor(shape, &g)
            if cl { x = x.channelsLast() }
            checkOp("relu \(shape)\(cl ? " channelsLast" : "")", inputs: [OpInput("x", x)], generator: &g,
                    op: { v in relu(v[0]) }, reference: { d in Ref.relu(d[0]) })
        }
    }

    func testMaxPoolGradients() {
        var g = Generator(seed: 402)
        for kernel in [2, 3] {
            for stride in [1, 2] {
                for padding in [0, 1] {
                    checkPool(.max, [2, 3, 5, 7], kernel: kernel, stride: stride, padding: padding, &g)
                }
            }
        }
        checkPool(.max, [3, 2, 7, 5], kernel: 3, stride: 2, padding: 1, channelsLast: true, &g)
        checkPool(.max, [2, 3, 6, 6], kernel: 2, stride: 1, padding: 1, channelsLast: true, &g)
        checkPool(.max, [1, 2, 6, 7], kernel: 2, stride: nil, padding: 0, &g)     // stride defaults to kernel
    }

    func testAvgPoolGradients() {
        var g = Generator(seed: 403)
        for kernel in [2, 3] {
            for stride in [1, 2] {
                for padding in [0, 1] {
                    checkPool(.avg, [2, 3, 5, 7], kernel: kernel, stride: stride, padding: padding, &g)
                }
            }
        }
        checkPool(.avg, [3, 2, 7, 5], kernel: 3, stride: 2, padding: 1, channelsLast: true, &g)
        checkPool(.avg, [2, 3, 6, 6], kernel: 2, stride: 1, padding: 1, channelsLast: true, &g)
        checkPool(.avg, [1, 2, 6, 7], kernel: 3, stride: nil, padding: 1, &g)
    }

    func testGlobalAvgPoolGradients() {
        var g = Generator(seed: 404)
        for (shape, cl) in [([3, 4, 5, 5], false), ([2, 3, 3, 3], true), ([2, 5, 1, 1], false), ([2, 3, 4, 7], false), ([3, 2, 5, 2], true)] {
            var x = randomTensor(shape, &g)
            if cl { x = x.channelsLast() }
            checkOp("globalAvgPool2d \(shape)\(cl ? " channelsLast" : "")", inputs: [OpInput("x", x)], generator: &g,
                    op: { v in globalAvgPool2d(v[0]) }, reference: { d in Ref.globalAvgPool2d(d[0], shape) })
        }
    }

    // MARK: elementwise, shape, reductions

    func testElementwiseGradients() {
        var g = Generator(seed: 501)
        // Rank 3, rank 4 in each memory format, and rank 4 with the two operands in different formats.
        let cases: [([Int], Bool, Bool)] = [([3, 4, 5], false, false), ([2, 3, 5, 7], false, false),
                                            ([2, 3, 5, 7], true, true), ([2, 3, 5, 7], true, false), ([2, 3, 5, 7], false, true)]
        for (shape, aCL, bCL) in cases {
            var a = randomTensor(shape, &g), b = randomTensor(shape, &g)
            if aCL { a = a.channelsLast() }
            if bCL { b = b.channelsLast() }
            let tag = "\(shape) a\(aCL ? "CL" : "") b\(bCL ? "CL" : "")"
            let inputs = [OpInput("a", a), OpInput("b", b)]
            checkOp("add \(tag)", inputs: inputs, generator: &g, op: { v in add(v[0], v[1]) }, reference: { d in Ref.add(d[0], d[1]) })
            checkOp("+ \(tag)", inputs: inputs, generator: &g, op: { v in v[0] + v[1] }, reference: { d in Ref.add(d[0], d[1]) })
            checkOp("sub \(tag)", inputs: inputs, generator: &g, op: { v in sub(v[0], v[1]) }, reference: { d in Ref.sub(d[0], d[1]) })
            checkOp("mul \(tag)", inputs: inputs, generator: &g, op: { v in mul(v[0], v[1]) }, reference: { d in Ref.mul(d[0], d[1]) })
        }
        // The same variable on both sides: gradients from both uses add up (2x for x ⊙ x, 2 for x + x).
        let x = randomTensor([4, 5], &g)
        checkOp("mul(x, x)", inputs: [OpInput("x", x)], generator: &g, op: { v in mul(v[0], v[0]) },
                reference: { d in Ref.mul(d[0], d[0]) })
        checkOp("add(x, x)", inputs: [OpInput("x", x)], generator: &g, op: { v in add(v[0], v[0]) },
                reference: { d in Ref.add(d[0], d[0]) })
    }

    func testMultiplyByConstantAndScaleGradients() {
        var g = Generator(seed: 502)
        for (shape, xCL, cCL) in [([4, 6], false, false), ([2, 3, 5, 7], true, false), ([2, 3, 5, 7], false, true)] {
            var x = randomTensor(shape, &g)
            if xCL { x = x.channelsLast() }
            // A pruning mask: zeros and ones, plus a general constant.
            let maskValues = (0..<x.count).map { _ in Float(g.nextInt(below: 2)) }
            var mask = Tensor(shape: shape, scalars: maskValues)
            if cCL { mask = mask.channelsLast() }
            var c = randomTensor(shape, &g)
            if cCL { c = c.channelsLast() }
            for (name, constant) in [("mask", mask), ("constant", c)] {
                let cD = constant.doubles
                checkOp("multiply(\(name)) \(shape) x\(xCL ? "CL" : "") c\(cCL ? "CL" : "")", inputs: [OpInput("x", x)],
                        generator: &g, op: { v in multiply(v[0], constant: constant) },
                        reference: { d in Ref.multiply(d[0], constant: cD) })
            }
            checkOp("scale \(shape)", inputs: [OpInput("x", x)], generator: &g, op: { v in scale(v[0], by: -0.37) },
                    reference: { d in Ref.scale(d[0], by: Double(Float(-0.37))) })
        }
    }

    func testReshapeAndFlattenGradients() {
        var g = Generator(seed: 503)
        for cl in [false, true] {
            var x = randomTensor([2, 3, 5, 7], &g)
            if cl { x = x.channelsLast() }
            let tag = cl ? " channelsLast" : ""
            checkOp("reshape [6, -1]\(tag)", inputs: [OpInput("x", x)], generator: &g, op: { v in reshape(v[0], [6, -1]) },
                    reference: { d in Ref.reshape(d[0]) })
            checkOp("reshape [7, 5, 6]\(tag)", inputs: [OpInput("x", x)], generator: &g, op: { v in reshape(v[0], [7, 5, 6]) },
                    reference: { d in Ref.reshape(d[0]) })
            for start in [0, 1, 2, 3] {
                checkOp("flatten(startDim: \(start))\(tag)", inputs: [OpInput("x", x)], generator: &g,
                        op: { v in flatten(v[0], startDim: start) }, reference: { d in Ref.reshape(d[0]) })
            }
        }
        checkOp("flatten rank 2", inputs: [OpInput("x", randomTensor([3, 4], &g))], generator: &g,
                op: { v in flatten(v[0]) }, reference: { d in Ref.reshape(d[0]) })
    }

    func testSumAndMeanGradients() {
        var g = Generator(seed: 504)
        for (shape, cl) in [([7], false), ([3, 5], false), ([2, 3, 5, 7], false), ([2, 3, 5, 7], true)] {
            var x = randomTensor(shape, &g)
            if cl { x = x.channelsLast() }
            let tag = "\(shape)\(cl ? " channelsLast" : "")"
            checkOp("sum \(tag)", inputs: [OpInput("x", x)], generator: &g, op: { v in sum(v[0]) },
                    reference: { d in [Ref.sum(d[0])] })
            checkOp("mean \(tag)", inputs: [OpInput("x", x)], generator: &g, op: { v in mean(v[0]) },
                    reference: { d in [Ref.mean(d[0])] })
        }
    }

    // MARK: losses

    func testSoftmaxCrossEntropyGradients() {
        var g = Generator(seed: 601)
        for (n, k) in [(5, 7), (1, 3), (4, 2), (3, 10)] {
            let z = randomTensor([n, k], &g, low: -3, high: 3)
            let labels = (0..<n).map { _ in Int32(g.nextInt(below: k)) }
            for reduction in [Reduction.mean, .sum] {
                checkOp("softmaxCrossEntropy [\(n),\(k)] \(reduction)", inputs: [OpInput("logits", z)], generator: &g,
                        op: { v in softmaxCrossEntropy(logits: v[0], labels: labels, reduction: reduction) },
                        reference: { d in [Ref.softmaxCrossEntropy(d[0], n: n, k: k, labels: labels, mean: reduction == .mean)] })
            }
        }
    }

    func testMSELossGradients() {
        var g = Generator(seed: 602)
        for (shape, cl) in [([4, 3], false), ([6, 1], false), ([2, 3, 3, 5], true)] {
            var p = randomTensor(shape, &g)
            if cl { p = p.channelsLast() }
            let t = randomTensor(shape, &g)
            let tD = t.doubles
            for reduction in [Reduction.mean, .sum] {
                checkOp("mseLoss \(shape)\(cl ? " channelsLast" : "") \(reduction)", inputs: [OpInput("prediction", p)],
                        generator: &g, op: { v in mseLoss(v[0], target: t, reduction: reduction) },
                        reference: { d in [Ref.mse(d[0], tD, mean: reduction == .mean)] })
            }
        }
    }

    // MARK: a whole network

    /// conv → batch norm (train) → relu → max pool → flatten → linear → cross-entropy, every parameter checked.
    func testSmallNetworkEndToEndGradients() {
        var g = Generator(seed: 701)
        let xs = [2, 3, 6, 6], ws = [4, 3, 3, 3], w2s = [5, 36]
        let labels: [Int32] = [3, 0]
        let inputs = [OpInput("x", randomTensor(xs, &g)), OpInput("conv.weight", randomTensor(ws, &g, low: -0.5, high: 0.5)),
                      OpInput("conv.bias", randomTensor([4], &g)), OpInput("bn.weight", randomTensor([4], &g, low: 0.5, high: 1.5)),
                      OpInput("bn.bias", randomTensor([4], &g, low: -0.5, high: 0.5)),
                      OpInput("fc.weight", randomTensor(w2s, &g, low: -0.5, high: 0.5)), OpInput("fc.bias", randomTensor([5], &g))]
        checkOp("conv-bn-relu-maxpool-linear-CE", inputs: inputs, generator: &g,
                op: { v in
                    let c = conv2d(v[0], weight: v[1], bias: v[2], stride: 1, padding: 1)
                    let b = batchNorm(c, weight: v[3], bias: v[4], runningMean: Variable(Tensor.zeros([4])),
                                      runningVar: Variable(Tensor.ones([4])), phase: .training)
                    let p = maxPool2d(relu(b), kernel: 2)
                    return softmaxCrossEntropy(logits: linear(flatten(p), weight: v[5], bias: v[6]), labels: labels)
                },
                reference: { d in
                    let c = Ref.conv2d(d[0], xs, d[1], ws, bias: d[2], stride: 1, padding: 1)
                    let b = Ref.batchNormTrain(c.y, c.shape, gamma: d[3], beta: d[4])
                    let p = Ref.maxPool2d(Ref.relu(b), c.shape, kernel: 2, stride: 2, padding: 0)
                    let z = Ref.linear(p.y, [2, 36], d[5], w2s, bias: d[6])
                    return [Ref.softmaxCrossEntropy(z, n: 2, k: 5, labels: labels, mean: true)]
                })
    }

    /// A residual block, relu(bn(conv(x)) + x): x feeds two branches whose gradients come back in different
    /// memory formats (conv's channels-last, add's pass-through) and must be summed into one.
    func testResidualBlockGradients() {
        var g = Generator(seed: 703)
        let xs = [2, 3, 5, 5], ws = [3, 3, 3, 3]
        for cl in [false, true] {
            var x = randomTensor(xs, &g)
            if cl { x = x.channelsLast() }
            let inputs = [OpInput("x", x), OpInput("conv.weight", randomTensor(ws, &g, low: -0.5, high: 0.5)),
                          OpInput("bn.weight", randomTensor([3], &g, low: 0.5, high: 1.5)),
                          OpInput("bn.bias", randomTensor([3], &g, low: -0.5, high: 0.5))]
            checkOp("residual block\(cl ? " channelsLast" : "")", inputs: inputs, generator: &g,
                    op: { v in
                        let c = conv2d(v[0], weight: v[1], stride: 1, padding: 1)
                        let b = batchNorm(c, weight: v[2], bias: v[3], runningMean: Variable(Tensor.zeros([3])),
                                          runningVar: Variable(Tensor.ones([3])), phase: .training)
                        return relu(add(b, v[0]))
                    },
                    reference: { d in
                        let c = Ref.conv2d(d[0], xs, d[1], ws, bias: nil, stride: 1, padding: 1)
                        let b = Ref.batchNormTrain(c.y, c.shape, gamma: d[2], beta: d[3])
                        return Ref.relu(Ref.add(b, d[0]))
                    })
        }
    }

    /// The checker itself must catch a wrong backward and a wrong forward (a harness that always passes would
    /// make every test above meaningless).
    func testCheckerCatchesWrongGradientsAndWrongForwards() {
        var g = Generator(seed: 704)
        let x = randomTensor([3, 4], &g)
        // y = 2x with a backward that claims 3.
        let wrongBackward = measureOp("wrong backward", inputs: [OpInput("x", x)], generator: &g, assert: false,
                                      op: { v in Variable(v[0].value * 2, op: "bad", inputs: [v[0]]) { gy in [gy * 3] } },
                                      reference: { d in Ref.scale(d[0], by: 2) })
        XCTAssertLessThan(wrongBackward.forwardError, 1e-6)
        XCTAssertGreaterThan(wrongBackward.gradientErrors["x"] ?? 0, 0.1)
        // A backward that drops one element's gradient.
        let dropped = measureOp("dropped element", inputs: [OpInput("x", x)], generator: &g, assert: false,
                                op: { v in Variable(v[0].value * 2, op: "bad", inputs: [v[0]]) { gy in
                                    var gx = gy * 2
                                    gx[2, 3] = 0
                                    return [gx]
                                } },
                                reference: { d in Ref.scale(d[0], by: 2) })
        XCTAssertGreaterThan(dropped.gradientErrors["x"] ?? 0, 1e-2)
        // avg pooling checked against the count_include_pad=False divisor must fail at the padded border.
        let img = randomTensor([1, 2, 4, 4], &g)
        let excludePad = measureOp("avgPool vs exclude-pad", inputs: [OpInput("x", img)], generator: &g, assert: false,
                                   op: { v in avgPool2d(v[0], kernel: 2, stride: 2, padding: 1) },
                                   reference: { d in
                                       // Divide by the number of real elements instead of kernel².
                                       let y = Ref.avgPool2d(d[0], [1, 2, 4, 4], kernel: 2, stride: 2, padding: 1).y
                                       let counts: [Double] = [1, 2, 1, 2, 4, 2, 1, 2, 1]
                                       return y.enumerated().map { $0.element * 4 / counts[$0.offset % 9] }
                                   })
        XCTAssertGreaterThan(excludePad.forwardError, 1e-2)
        XCTAssertGreaterThan(excludePad.gradientErrors["x"] ?? 0, 1e-2)
        // And the correct op passes under the same machinery.
        let right = measureOp("right", inputs: [OpInput("x", x)], generator: &g, assert: false,
                              op: { v in scale(v[0], by: 2) }, reference: { d in Ref.scale(d[0], by: 2) })
        XCTAssertLessThan(right.gradientErrors["x"] ?? 1, 1e-6)
    }

    /// Larger, ResNet-like shapes (where oneDNN picks its blocked JIT kernels and reorders weights), checked by
    /// directional derivatives (see `checkOpDirectional`).
    func testConv2dAndBatchNormDirectionalDerivativesOnResNetShapes() {
        var g = Generator(seed: 702)
        let configs: [([Int], [Int], Int, Int, Bool)] = [
            ([2, 16, 8, 8], [16, 16, 3, 3], 1, 1, false),
            ([2, 16, 8, 8], [32, 16, 3, 3], 2, 1, false),
            ([2, 16, 8, 8], [32, 16, 1, 1], 2, 0, false),
            ([2, 3, 9, 9], [16, 3, 3, 3], 1, 1, true),
        ]
        for (xs, ws, stride, padding, bias) in configs {
            for cl in [false, true] {
                var x = randomTensor(xs, &g)
                if cl { x = x.channelsLast() }
                let o = ws[0]
                var inputs = [OpInput("x", x), OpInput("conv.weight", randomTensor(ws, &g, low: -0.2, high: 0.2))]
                if bias { inputs.append(OpInput("conv.bias", randomTensor([o], &g))) }
                let label = "conv x\(xs) w\(ws) s\(stride) p\(padding) bias=\(bias)\(cl ? " channelsLast" : "")"
                checkOpDirectional(label, inputs: inputs, generator: &g,
                                   op: { v in conv2d(v[0], weight: v[1], bias: bias ? v[2] : nil, stride: stride, padding: padding) },
                                   reference: { d in Ref.conv2d(d[0], xs, d[1], ws, bias: bias ? d[2] : nil, stride: stride, padding: padding).y })
                let gamma = randomTensor([o], &g, low: 0.5, high: 1.5), beta = randomTensor([o], &g, low: -0.5, high: 0.5)
                let nb = inputs.count
                checkOpDirectional("\(label) → batchNorm train", inputs: inputs + [OpInput("bn.weight", gamma), OpInput("bn.bias", beta)],
                                   generator: &g,
                                   op: { v in
                                       batchNorm(conv2d(v[0], weight: v[1], bias: bias ? v[2] : nil, stride: stride, padding: padding),
                                                 weight: v[nb], bias: v[nb + 1], runningMean: Variable(Tensor.zeros([o])),
                                                 runningVar: Variable(Tensor.ones([o])), phase: .training)
                                   },
                                   reference: { d in
                                       let c = Ref.conv2d(d[0], xs, d[1], ws, bias: bias ? d[2] : nil, stride: stride, padding: padding)
                                       return Ref.batchNormTrain(c.y, c.shape, gamma: d[nb], beta: d[nb + 1])
                                   })
            }
        }
    }

    /// Batch norm, relu, pooling and linear on ResNet-20 channel counts, both memory formats.
    func testOtherOpsDirectionalDerivativesOnResNetShapes() {
        var g = Generator(seed: 705)
        for cl in [false, true] {
            let tag = cl ? " channelsLast" : ""
            func image(_ shape: [Int], distinct: Bool = false, awayFromZero: Bool = false) -> Tensor {
                let t = distinct ? distinctTensor(shape, &g) : awayFromZero ? awayFromZeroTensor(shape, &g) : randomTensor(shape, &g)
                return cl ? t.channelsLast() : t
            }
            for (shape, phase) in [([4, 16, 8, 8], LearningPhase.training), ([2, 32, 4, 4], .inference), ([2, 64, 4, 4], .training)] {
                let c = shape[1]
                let rm = randomTensor([c], &g, low: -0.3, high: 0.3), rv = randomTensor([c], &g, low: 0.5, high: 1.5)
                let (rmD, rvD) = (rm.doubles, rv.doubles)
                let inputs = [OpInput("x", image(shape)), OpInput("gamma", randomTensor([c], &g, low: 0.5, high: 1.5)),
                              OpInput("beta", randomTensor([c], &g))]
                checkOpDirectional("batchNorm \(shape) \(phase)\(tag)", inputs: inputs, generator: &g,
                                   op: { v in batchNorm(v[0], weight: v[1], bias: v[2], runningMean: Variable(rm),
                                                        runningVar: Variable(rv), phase: phase) },
                                   reference: { d in
                                       phase == .training ? Ref.batchNormTrain(d[0], shape, gamma: d[1], beta: d[2])
                                           : Ref.batchNormEval(d[0], shape, gamma: d[1], beta: d[2], runningMean: rmD, runningVar: rvD)
                                   })
            }
            let shape = [2, 16, 8, 8]
            checkOpDirectional("relu \(shape)\(tag)", inputs: [OpInput("x", image(shape, awayFromZero: true))], generator: &g,
                               op: { v in relu(v[0]) }, reference: { d in Ref.relu(d[0]) })
            for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1)] {
                checkOpDirectional("maxPool2d \(shape) k\(k) s\(s) p\(p)\(tag)", inputs: [OpInput("x", image(shape, distinct: true))],
                                   generator: &g, op: { v in maxPool2d(v[0], kernel: k, stride: s, padding: p) },
                                   reference: { d in Ref.maxPool2d(d[0], shape, kernel: k, stride: s, padding: p).y })
                checkOpDirectional("avgPool2d \(shape) k\(k) s\(s) p\(p)\(tag)", inputs: [OpInput("x", image(shape))],
                                   generator: &g, op: { v in avgPool2d(v[0], kernel: k, stride: s, padding: p) },
                                   reference: { d in Ref.avgPool2d(d[0], shape, kernel: k, stride: s, padding: p).y })
            }
            let gapShape = [2, 64, 8, 8]
            checkOpDirectional("globalAvgPool2d \(gapShape)\(tag)", inputs: [OpInput("x", image(gapShape))], generator: &g,
                               op: { v in globalAvgPool2d(v[0]) }, reference: { d in Ref.globalAvgPool2d(d[0], gapShape) })
        }
        // The classifier head of ResNet-20 and a LeNet-300-100-sized layer.
        for (n, inF, outF) in [(8, 64, 10), (4, 300, 100)] {
            let xs = [n, inF], ws = [outF, inF]
            checkOpDirectional("linear x\(xs) w\(ws)", inputs: [OpInput("x", randomTensor(xs, &g)), OpInput("weight", randomTensor(ws, &g)),
                                                                 OpInput("bias", randomTensor([outF], &g))], generator: &g,
                               op: { v in linear(v[0], weight: v[1], bias: v[2]) },
                               reference: { d in Ref.linear(d[0], xs, d[1], ws, bias: d[2]) })
        }
    }
}

/// Semantics of the tape itself: accumulation, release, grad mode, error messages.
final class AutodiffTests: XCTestCase {
    func testGradientsAccumulateAcrossBackwardCalls() {
        var g = Generator(seed: 801)
        let w = Variable(randomTensor([3, 4], &g), requiresGrad: true)
        let c = randomTensor([3, 4], &g)
        sum(mul(w, Variable(c))).backward()
        let first = w.grad!.scalars
        XCTAssertEqual(first, c.scalars)
        sum(mul(w, Variable(c))).backward()
        XCTAssertEqual(w.grad!.scalars, first.map { $0 * 2 }, "a second backward adds into the leaf's gradient")
        w.zeroGrad()
        XCTAssertNil(w.grad)

        // Through a conv (whose gradients come back channels-last) the accumulated gradient still doubles.
        let x = Variable(randomTensor([2, 3, 5, 5], &g), requiresGrad: true)
        let k = Variable(randomTensor([2, 3, 3, 3], &g), requiresGrad: true)
        sum(conv2d(x, weight: k, padding: 1)).backward()
        let gx1 = x.grad!.scalars, gk1 = k.grad!.scalars
        sum(conv2d(x, weight: k, padding: 1)).backward()
        assertSameValues(x.grad!, Tensor(shape: x.shape, scalars: gx1.map { 2 * $0 }), tolerance: 1e-6, "conv input grad doubles")
        assertSameValues(k.grad!, Tensor(shape: k.shape, scalars: gk1.map { 2 * $0 }), tolerance: 1e-6, "conv weight grad doubles")
    }

    func testTapeIsReleasedAfterBackward() {
        var g = Generator(seed: 802)
        let x = Variable(randomTensor([4, 5], &g), requiresGrad: true)
        let w = Variable(randomTensor([3, 5], &g), requiresGrad: true)
        let hidden = linear(x, weight: w)
        let act = relu(hidden)
        let loss = sum(act)
        XCTAssertTrue(hidden.requiresGrad)
        XCTAssertFalse(hidden.isLeaf)
        XCTAssertEqual(hidden.op, "linear")
        XCTAssertNotNil(hidden.backwardFn)
        XCTAssertEqual(hidden.inputs.count, 2)
        loss.backward()
        for node in [hidden, act, loss] {
            XCTAssertNil(node.grad, "\(node.op): interior gradient kept after backward")
            XCTAssertNil(node.backwardFn, "\(node.op): backward closure kept after backward")
            XCTAssertTrue(node.inputs.isEmpty, "\(node.op): inputs kept after backward")
        }
        XCTAssertNotNil(x.grad)
        XCTAssertNotNil(w.grad)
        // A second backward on the released graph cannot reach the leaves again.
        let before = w.grad!.scalars
        loss.backward()
        XCTAssertEqual(w.grad!.scalars, before)
    }

    func testWithoutGradProducesVariablesThatDoNotRequireGrad() {
        var g = Generator(seed: 803)
        let x = Variable(randomTensor([2, 3], &g), requiresGrad: true)
        XCTAssertTrue(GradMode.isEnabled)
        let y = GradMode.withoutGrad { relu(x) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.backwardFn)
        XCTAssertTrue(y.inputs.isEmpty)
        XCTAssertTrue(GradMode.isEnabled, "grad mode is restored after withoutGrad")
        // Nested: the inner call restores "off", the outer "on".
        GradMode.withoutGrad {
            GradMode.withoutGrad { XCTAssertFalse(GradMode.isEnabled) }
            XCTAssertFalse(GradMode.isEnabled)
        }
        XCTAssertTrue(GradMode.isEnabled)
        // Backward on a variable that does not require grad is a no-op.
        y.backward(seed: Tensor.ones([2, 3]))
        XCTAssertNil(x.grad)
        // Inputs without requiresGrad record nothing either.
        let z = relu(Variable(randomTensor([2, 3], &g)))
        XCTAssertFalse(z.requiresGrad)
    }

    func testBackwardWithExplicitSeed() {
        var g = Generator(seed: 804)
        let x = Variable(randomTensor([3, 4], &g), requiresGrad: true)
        let seed = randomTensor([3, 4], &g)
        scale(x, by: 3).backward(seed: seed)
        assertSameValues(x.grad!, seed * 3, "seeded backward")
    }

    func testShapeMismatchMessageNamesOpAndBothShapes() {
        let message = shapeMismatchMessage(op: "conv2d", "input", [2, 3, 5, 7], "weight", [4, 2, 3, 3],
                                           expected: "the same C")
        XCTAssertTrue(message.contains("conv2d"), message)
        XCTAssertTrue(message.contains("input"), message)
        XCTAssertTrue(message.contains("weight"), message)
        XCTAssertTrue(message.contains("[2, 3, 5, 7]"), message)
        XCTAssertTrue(message.contains("[4, 2, 3, 3]"), message)
        XCTAssertTrue(message.contains("the same C"), message)
        XCTAssertTrue(message.hasPrefix("conv2d:"), message)
    }
}
