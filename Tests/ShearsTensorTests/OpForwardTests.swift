// Forward results of the ops against the Double references (Reference.swift) on shapes too large for
// element-wise finite differences (the shapes ResNet-20 uses on CIFAR, where oneDNN picks its blocked JIT
// kernels), agreement between the contiguous and channels-last memory formats, batch-norm running statistics
// (PyTorch semantics), dropout, and loss edge cases.

import XCTest
@testable import ShearsTensor

final class OpForwardTests: XCTestCase {

    func testConv2dForwardMatchesReference() {
        var g = Generator(seed: 1001)
        let configs: [([Int], [Int], Int, Int, Bool)] = [
            ([2, 3, 16, 16], [16, 3, 3, 3], 1, 1, false),    // ResNet stem
            ([2, 16, 8, 8], [16, 16, 3, 3], 1, 1, false),
            ([2, 16, 8, 8], [32, 16, 3, 3], 2, 1, true),
            ([2, 16, 8, 8], [32, 16, 1, 1], 2, 0, false),   // projection shortcut
            ([3, 8, 7, 9], [8, 8, 5, 5], 2, 2, true),
            ([1, 5, 5, 7], [3, 5, 3, 3], 1, 0, true),
        ]
        for (xs, ws, stride, padding, bias) in configs {
            let x = randomTensor(xs, &g), w = randomTensor(ws, &g, low: -0.3, high: 0.3)
            let b = randomTensor([ws[0]], &g)
            let ref = Ref.conv2d(x.doubles, xs, w.doubles, ws, bias: bias ? b.doubles : nil, stride: stride, padding: padding)
            for input in [x, x.channelsLast()] {
                let y = conv2d(Variable(input), weight: Variable(w), bias: bias ? Variable(b) : nil, stride: stride, padding: padding)
                XCTAssertEqual(y.shape, ref.shape)
                XCTAssertEqual(y.value.format, .channelsLast, "conv2d output is channels-last")
                let err = relativeError(y.value.doubles, ref.y)
                XCTAssertLessThan(err, 1e-4, "conv2d x\(xs) w\(ws) s\(stride) p\(padding) bias=\(bias) \(input.format): \(err)")
            }
        }
    }

    func testLinearAndMatmulForwardMatchReference() {
        var g = Generator(seed: 1002)
        let (n, inF, outF) = (33, 65, 17)
        let x = randomTensor([n, inF], &g), w = randomTensor([outF, inF], &g), b = randomTensor([outF], &g)
        let y = linear(Variable(x), weight: Variable(w), bias: Variable(b))
        XCTAssertEqual(y.shape, [n, outF])
        XCTAssertLessThan(relativeError(y.value.doubles, Ref.linear(x.doubles, [n, inF], w.doubles, [outF, inF], bias: b.doubles)), 1e-4)
        let y0 = linear(Variable(x), weight: Variable(w))
        XCTAssertLessThan(relativeError(y0.value.doubles, Ref.linear(x.doubles, [n, inF], w.doubles, [outF, inF], bias: nil)), 1e-4)
        let a = randomTensor([19, 23], &g), c = randomTensor([23, 29], &g)
        let m = matmul(Variable(a), Variable(c))
        XCTAssertEqual(m.shape, [19, 29])
        XCTAssertLessThan(relativeError(m.value.doubles, Ref.matmul(a.doubles, c.doubles, m: 19, k: 23, n: 29)), 1e-4)
    }

    func testBatchNormForwardMatchesReference() {
        var g = Generator(seed: 1003)
        for shape in [[64, 10], [4, 16, 8, 8], [3, 3, 5, 7]] {
            let c = shape[1]
            let x = randomTensor(shape, &g, low: -2, high: 3)
            let gamma = randomTensor([c], &g, low: 0.5, high: 1.5), beta = randomTensor([c], &g)
            let rm = randomTensor([c], &g), rv = randomTensor([c], &g, low: 0.2, high: 2)
            let train = Ref.batchNormTrain(x.doubles, shape, gamma: gamma.doubles, beta: beta.doubles)
            let eval = Ref.batchNormEval(x.doubles, shape, gamma: gamma.doubles, beta: beta.doubles,
                                         runningMean: rm.doubles, runningVar: rv.doubles)
            let inputs = shape.count == 4 ? [x, x.channelsLast()] : [x]
            for input in inputs {
                for (phase, expected) in [(LearningPhase.training, train), (.inference, eval)] {
                    let y = batchNorm(Variable(input), weight: Variable(gamma), bias: Variable(beta), runningMean: Variable(rm),
                                      runningVar: Variable(rv), phase: phase)
                    XCTAssertEqual(y.shape, shape)
                    XCTAssertEqual(y.value.format, input.format, "batchNorm keeps the input's memory format")
                    let err = relativeError(y.value.doubles, expected)
                    XCTAssertLessThan(err, 1e-4, "batchNorm \(shape) \(phase) \(input.format): \(err)")
                }
            }
        }
    }

    func testBatchNormRunningStatisticsFollowPyTorch() {
        var g = Generator(seed: 1004)
        for (shape, momentum, cl) in [([8, 5], Float(0.1), false), ([3, 4, 5, 7], 0.1, false), ([3, 4, 5, 7], 0.1, true),
                                      ([2, 3, 3, 3], 0.3, false)] {
            let c = shape[1]
            var x = randomTensor(shape, &g, low: -1, high: 3)
            if cl { x = x.channelsLast() }
            let rm0 = randomTensor([c], &g), rv0 = randomTensor([c], &g, low: 0.5, high: 1.5)
            let rm = Variable(rm0), rv = Variable(rv0)
            _ = batchNorm(Variable(x), weight: Variable(Tensor.ones([c])), bias: Variable(Tensor.zeros([c])),
                          runningMean: rm, runningVar: rv, phase: .training, momentum: momentum)
            let stats = Ref.batchStats(x.doubles, shape)
            let n = Double(x.count / c)
            let m = Double(momentum)
            // PyTorch: running_mean ← (1−m)·rm + m·mean; running_var ← (1−m)·rv + m·var·n/(n−1) (unbiased).
            let expectedMean = zip(rm0.doubles, stats.mean).map { (1 - m) * $0 + m * $1 }
            let expectedVar = zip(rv0.doubles, stats.biasedVar).map { (1 - m) * $0 + m * $1 * n / (n - 1) }
            let label = "running stats \(shape) momentum \(momentum)\(cl ? " channelsLast" : "")"
            XCTAssertLessThan(relativeError(rm.value.doubles, expectedMean), 1e-5, "\(label): running_mean")
            XCTAssertLessThan(relativeError(rv.value.doubles, expectedVar), 1e-5, "\(label): running_var")
            // The biased variance would be a different number: make sure the test can tell them apart.
            let biased = zip(rv0.doubles, stats.biasedVar).map { (1 - m) * $0 + m * $1 }
            XCTAssertGreaterThan(relativeError(biased, expectedVar), 1e-4)

            // Inference reads the running statistics and leaves them alone.
            let before = (rm.value.scalars, rv.value.scalars)
            _ = batchNorm(Variable(x), weight: Variable(Tensor.ones([c])), bias: Variable(Tensor.zeros([c])),
                          runningMean: rm, runningVar: rv, phase: .inference, momentum: momentum)
            XCTAssertEqual(rm.value.scalars, before.0, "\(label): inference changed running_mean")
            XCTAssertEqual(rv.value.scalars, before.1, "\(label): inference changed running_var")
        }
    }

    func testBatchNormTrainingNormalisesEachChannel() {
        var g = Generator(seed: 1005)
        let shape = [4, 3, 6, 6]
        let x = randomTensor(shape, &g, low: 2, high: 7)
        let gamma = Tensor(shape: [3], scalars: [1, 2, 0.5]), beta = Tensor(shape: [3], scalars: [0, -1, 3])
        let y = batchNorm(Variable(x), weight: Variable(gamma), bias: Variable(beta), runningMean: Variable(Tensor.zeros([3])),
                          runningVar: Variable(Tensor.ones([3])), phase: .training)
        let stats = Ref.batchStats(y.value.doubles, shape)
        let xStats = Ref.batchStats(x.doubles, shape)
        for ch in 0..<3 {
            XCTAssertEqual(stats.mean[ch], Double(beta.scalars[ch]), accuracy: 1e-5)
            let expectedStd = Double(gamma.scalars[ch]) * (xStats.biasedVar[ch] / (xStats.biasedVar[ch] + 1e-5)).squareRoot()
            XCTAssertEqual(stats.biasedVar[ch].squareRoot(), expectedStd, accuracy: 1e-4)
        }
    }

    func testPoolingForwardMatchesReference() {
        var g = Generator(seed: 1006)
        for shape in [[2, 16, 8, 8], [3, 5, 7, 9]] {
            let x = randomTensor(shape, &g)
            for (kernel, stride, padding) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (2, 2, 1)] {
                let maxRef = Ref.maxPool2d(x.doubles, shape, kernel: kernel, stride: stride, padding: padding)
                let avgRef = Ref.avgPool2d(x.doubles, shape, kernel: kernel, stride: stride, padding: padding)
                for input in [x, x.channelsLast()] {
                    let label = "\(shape) k\(kernel) s\(stride) p\(padding) \(input.format)"
                    let mp = maxPool2d(Variable(input), kernel: kernel, stride: stride, padding: padding)
                    XCTAssertEqual(mp.shape, maxRef.shape, "maxPool2d \(label)")
                    XCTAssertEqual(mp.value.format, input.format)
                    XCTAssertEqual(relativeError(mp.value.doubles, maxRef.y), 0, "maxPool2d \(label) picks exact elements")
                    let ap = avgPool2d(Variable(input), kernel: kernel, stride: stride, padding: padding)
                    XCTAssertEqual(ap.shape, avgRef.shape, "avgPool2d \(label)")
                    XCTAssertLessThan(relativeError(ap.value.doubles, avgRef.y), 1e-5, "avgPool2d \(label)")
                }
            }
            if shape[2] == shape[3] {
                for input in [x, x.channelsLast()] {
                    let gp = globalAvgPool2d(Variable(input))
                    XCTAssertEqual(gp.shape, [shape[0], shape[1]])
                    XCTAssertLessThan(relativeError(gp.value.doubles, Ref.globalAvgPool2d(x.doubles, shape)), 1e-5)
                }
            }
        }
        // Max pooling with padding never picks the padding, even when every real element is negative.
        let neg = Tensor(shape: [1, 1, 2, 2], scalars: [-4, -3, -2, -1])
        XCTAssertEqual(maxPool2d(Variable(neg), kernel: 2, stride: 1, padding: 1).value.scalars,
                       [-4, -3, -3, -2, -1, -1, -2, -1, -1])
        // Average pooling counts the padding (count_include_pad=True): the corner window sees one element of 4.
        let ones = Tensor.ones([1, 1, 2, 2])
        XCTAssertEqual(avgPool2d(Variable(ones), kernel: 2, stride: 2, padding: 1).value.scalars, [0.25, 0.25, 0.25, 0.25])
    }

    func testReluForward() {
        let x = Tensor(shape: [2, 3], scalars: [-1, 0, 2, -0.5, 3, -7])
        XCTAssertEqual(relu(Variable(x)).value.scalars, [0, 0, 2, 0, 3, 0])
        var g = Generator(seed: 1007)
        let big = randomTensor([2, 3, 5, 7], &g)
        for input in [big, big.channelsLast()] {
            let y = relu(Variable(input))
            XCTAssertEqual(y.value.format, input.format)
            XCTAssertEqual(y.value.doubles, Ref.relu(big.doubles))
        }
    }

    /// Every op gives the same logical result, and the same gradients, for a channels-last input as for the
    /// contiguous one.
    func testOpsAgreeAcrossMemoryFormats() {
        var g = Generator(seed: 1008)
        let shape = [3, 4, 5, 7]
        let x = randomTensor(shape, &g)
        let other = randomTensor(shape, &g)
        let w = randomTensor([6, 4, 3, 3], &g)
        let gamma = randomTensor([4], &g, low: 0.5, high: 1.5), beta = randomTensor([4], &g)
        let ops: [(String, Double, (Variable) -> Variable)] = [
            ("conv2d", 0, { conv2d($0, weight: Variable(w), stride: 2, padding: 1) }),
            ("batchNorm train", 1e-5, { batchNorm($0, weight: Variable(gamma), bias: Variable(beta), runningMean: Variable(Tensor.zeros([4])),
                                                   runningVar: Variable(Tensor.ones([4])), phase: .training) }),
            ("batchNorm eval", 1e-6, { batchNorm($0, weight: Variable(gamma), bias: Variable(beta), runningMean: Variable(Tensor.zeros([4])),
                                                  runningVar: Variable(Tensor.ones([4])), phase: .inference) }),
            ("relu", 0, { relu($0) }),
            ("maxPool2d", 0, { maxPool2d($0, kernel: 3, stride: 2, padding: 1) }),
            ("avgPool2d", 1e-6, { avgPool2d($0, kernel: 2, stride: 1, padding: 1) }),
            ("add", 0, { add($0, Variable(other)) }),
            ("mul", 0, { mul($0, Variable(other)) }),
            ("multiply(constant:)", 0, { multiply($0, constant: other) }),
            ("scale", 0, { scale($0, by: 0.5) }),
            ("flatten", 0, { flatten($0) }),
            ("reshape", 0, { reshape($0, [-1, 5]) }),
            ("sum", 1e-6, { sum($0) }),
            ("mseLoss", 1e-6, { mseLoss($0, target: other) }),
        ]
        let r = randomTensor([4096], &g)   // enough weights for the largest output
        for (name, tol, op) in ops {
            var outputs: [Tensor] = [], grads: [Tensor] = []
            for input in [x, x.channelsLast()] {
                let v = Variable(input, requiresGrad: true)
                let y = op(v)
                outputs.append(y.value)
                // Back-propagate r-weighted outputs (r reshaped to the output's element count).
                let ry = Tensor(shape: y.shape, scalars: Array(r.scalars.prefix(y.value.count)))
                sum(mul(y, Variable(ry))).backward()
                grads.append(v.grad!)
            }
            assertSameValues(outputs[0], outputs[1], tolerance: tol, "\(name) output")
            assertSameValues(grads[0], grads[1], tolerance: max(tol, 1e-6), "\(name) gradient")
        }
    }

    // MARK: dropout

    func testDropoutTrainingSemantics() {
        var g = Generator(seed: 1009)
        let p: Float = 0.3
        for cl in [false, true] {
            var x = awayFromZeroTensor([8, 4, 16, 16], &g)
            if cl { x = x.channelsLast() }
            let xv = Variable(x, requiresGrad: true)
            var dg = Generator(seed: 77)
            let y = dropout(xv, p: p, phase: .training, generator: &dg)
            XCTAssertEqual(y.value.format, x.format)
            let xs = x.scalars, ys = y.value.scalars
            var zeros = 0
            var mask = [Float](repeating: 0, count: xs.count)
            for i in 0..<xs.count {
                if ys[i] == 0 { zeros += 1; continue }
                XCTAssertEqual(Double(ys[i]), Double(xs[i]) / (1 - Double(p)), accuracy: 1e-6, "survivors are scaled by 1/(1−p)")
                mask[i] = 1 / (1 - p)
            }
            let fraction = Double(zeros) / Double(xs.count)
            XCTAssertEqual(fraction, Double(p), accuracy: 0.03, "dropped fraction")
            // ∂(Σ r ⊙ y)/∂x = r ⊙ mask.
            let r = randomTensor(x.shape, &g)
            sum(mul(y, Variable(r))).backward()
            let expected = zip(r.scalars, mask).map { Double($0) * Double($1) }
            XCTAssertLessThan(relativeError(xv.grad!.doubles, expected), 1e-6, "dropout gradient")
        }
    }

    func testDropoutIsSeededAndIdentityInInference() {
        var g = Generator(seed: 1010)
        let x = Variable(awayFromZeroTensor([4, 50], &g), requiresGrad: true)
        var g1 = Generator(seed: 5), g2 = Generator(seed: 5), g3 = Generator(seed: 6)
        let a = dropout(x, p: 0.5, phase: .training, generator: &g1)
        let b = dropout(x, p: 0.5, phase: .training, generator: &g2)
        let c = dropout(x, p: 0.5, phase: .training, generator: &g3)
        XCTAssertEqual(a.value.scalars, b.value.scalars, "same seed, same mask")
        XCTAssertNotEqual(a.value.scalars, c.value.scalars, "different seed, different mask")
        XCTAssertEqual(g1, g2)
        var gi = Generator(seed: 5)
        XCTAssertTrue(dropout(x, p: 0.5, phase: .inference, generator: &gi) === x, "inference is the identity")
        XCTAssertEqual(gi, Generator(seed: 5), "inference draws nothing")
        XCTAssertTrue(dropout(x, p: 0, phase: .training, generator: &gi) === x, "p = 0 is the identity")
    }

    // MARK: losses

    func testSoftmaxCrossEntropyForward() {
        // Uniform logits: loss = log K exactly.
        let z = Tensor.zeros([3, 4])
        XCTAssertEqual(Double(softmaxCrossEntropy(logits: Variable(z), labels: [0, 1, 3]).value.scalar), log(4.0), accuracy: 1e-6)
        XCTAssertEqual(Double(softmaxCrossEntropy(logits: Variable(z), labels: [0, 1, 3], reduction: .sum).value.scalar),
                       3 * log(4.0), accuracy: 1e-5)
        // Large logits stay finite and accurate (log-sum-exp with the row max subtracted).
        var g = Generator(seed: 1011)
        let big = randomTensor([5, 6], &g, low: 80, high: 120)
        let labels: [Int32] = [0, 5, 2, 3, 1]
        let loss = softmaxCrossEntropy(logits: Variable(big, requiresGrad: true), labels: labels)
        XCTAssertTrue(loss.value.isFinite)
        let ref = Ref.softmaxCrossEntropy(big.doubles, n: 5, k: 6, labels: labels, mean: true)
        XCTAssertEqual(Double(loss.value.scalar), ref, accuracy: 1e-4 * max(1, abs(ref)))
        // Gradient rows of softmax − onehot sum to zero.
        let v = Variable(big, requiresGrad: true)
        softmaxCrossEntropy(logits: v, labels: labels).backward()
        let gr = v.grad!.scalars
        for i in 0..<5 { XCTAssertEqual(Double(gr[(i * 6)..<(i * 6 + 6)].reduce(0, +)), 0, accuracy: 1e-6) }
    }

    func testMSELossForward() {
        let p = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), t = Tensor(shape: [2, 2], scalars: [0, 2, 5, 1])
        XCTAssertEqual(mseLoss(Variable(p), target: t).value.scalar, (1 + 0 + 4 + 9) / 4)
        XCTAssertEqual(mseLoss(Variable(p), target: t, reduction: .sum).value.scalar, 14)
    }
}
