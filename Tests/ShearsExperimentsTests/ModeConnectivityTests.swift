import Foundation
import XCTest
import ShearsAnalysis
import ShearsData
import ShearsIO
import ShearsOptim
import ShearsNN
import ShearsTensor
@testable import ShearsExperiments

final class ModeConnectivityTests: RunTestCase {
    /// LeNet-300-100 on the synthetic set; two different networks saved as the bends.
    func makeBends() throws -> (TrainingConfig, String, String) {
        var tc = TrainingConfig()
        tc.model = .lenet300100; tc.dataset = .synthetic; tc.validation = 400
        let data = try prepareData(tc)
        var paths: [String] = []
        for seed in [UInt64(11), 22] {
            var g = Generator(seed: seed)
            let m = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
            let p = scratch.appendingPathComponent("bend\(seed).safetensors").path
            try saveStateDict(m, to: p)
            paths.append(p)
        }
        return (tc, paths[0], paths[1])
    }

    func quickConfig(_ tc: TrainingConfig, _ a: String, _ b: String, epochs: Int = 1) -> ConnectivityConfig {
        var c = ConnectivityConfig(start: a, end: b, training: tc)
        c.epochs = epochs; c.lr = 0.05; c.batchSize = 100; c.points = 5; c.grid = 3; c.trainExamples = 500
        return c
    }

    func model(_ tc: TrainingConfig, weights: String) throws -> any Layer {
        let data = try prepareData(tc)
        var g = Generator(seed: 0)
        let m = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
        try loadStateDict(m, from: weights)
        return m
    }

    /// The curve's ends are the two networks themselves; its plane puts them at (0, 0) and (‖b − a‖, 0).
    func testEndsOfTheCurveAreTheTwoNetworks() throws {
        let (tc, a, b) = try makeBends()
        let report = try ModeConnectivity.run(quickConfig(tc, a, b), in: try dir("c"), options: quietOptions())
        let data = try prepareData(tc)
        let train = data.train.prefix(500)
        for (weights, index) in [(a, 0), (b, 4)] {
            let m = try model(tc, weights: weights)
            let tr = evaluate(m, on: train, mean: data.mean, std: data.std), te = evaluate(m, on: data.test, mean: data.mean, std: data.std)
            XCTAssertEqual(report.curve.trainLoss[index], tr.loss, accuracy: 1e-9)
            XCTAssertEqual(report.curve.testError[index], 1 - te.accuracy, accuracy: 1e-12)
        }
        XCTAssertEqual(report.curve.t, [0, 0.25, 0.5, 0.75, 1])
        let ma = try model(tc, weights: a), mb = try model(tc, weights: b)
        var d2 = 0.0
        for ((_, p), (_, q)) in zip(ma.namedParameters, mb.namedParameters) {
            for (x, y) in zip(p.value.scalars, q.value.scalars) { d2 += Double(x - y) * Double(x - y) }
        }
        XCTAssertEqual(report.distance, d2.squareRoot(), accuracy: 1e-6 * d2.squareRoot())
        let plane = try XCTUnwrap(report.plane)
        XCTAssertEqual(plane.bends[0], [0, 0])
        XCTAssertEqual(plane.bends[2][0], report.distance, accuracy: 1e-9)
        XCTAssertGreaterThan(plane.bends[1][1], 0)
        XCTAssertEqual(plane.xs.count, 3); XCTAssertEqual(plane.trainLoss.count, 3); XCTAssertEqual(plane.trainLoss[0].count, 3)
        // The projected curve starts and ends on the bends and passes below θ.
        XCTAssertEqual(plane.curve.first![0], 0, accuracy: 1e-4); XCTAssertEqual(plane.curve.last![0], report.distance, accuracy: 1e-4)
        XCTAssertEqual(plane.curve[2][1], plane.bends[1][1] / 2, accuracy: 1e-3 * max(1, plane.bends[1][1]))
        // The files of the analysis.
        for f in ["connectivity.json", "middle.safetensors", "curve_points.json", "plane_points.json"] {   // figures: ConnectivityCommandTests
            XCTAssertTrue(try dir("c").fileExists(f), f)
        }
    }

    /// With no training θ is the midpoint, so φ(½) = (a + b)/2 and the plane's middle bend lies on the line (refused).
    /// One training step moves θ by exactly −lr·2t(1 − t)·∇L(φ(t)) (SGD without momentum).
    func testMiddleBendGradientIsTheChainRuleThroughTheCurve() throws {
        let (tc, a, b) = try makeBends()
        var c = quickConfig(tc, a, b)
        c.momentum = 0; c.schedule = .constant
        XCTAssertThrowsError(try ModeConnectivity.run({ var z = c; z.epochs = 0; return z }(), in: try dir("zero"), options: quietOptions())) { e in
            XCTAssertTrue("\(e)".contains("on the line") && "\(e)".contains("--grid 0"), "\(e)")
        }
        let straight = try ModeConnectivity.run({ var z = c; z.epochs = 0; z.grid = 0; return z }(), in: try dir("zero0"), options: quietOptions())
        XCTAssertNil(straight.plane)
        XCTAssertEqual(straight.middle, [straight.distance / 2, 0])
        var stop = quietOptions(); stop.interrupt = Interrupt(stage: ModeConnectivity.Stage.training.rawValue, iteration: 1)
        XCTAssertThrowsError(try ModeConnectivity.run(c, in: try dir("one"), options: stop))
        let stepped = try SafetensorsFile.read(path: try dir("one").checkpointPath)

        // By hand: φ(t) for the first batch, its gradient, θ₁ = θ₀ − lr·2t(1 − t)·g.
        let t = ModeConnectivity.curveT(seed: c.seed, iteration: 0)
        let ma = try model(tc, weights: a), mb = try model(tc, weights: b), m = try model(tc, weights: a)
        let data = try prepareData(tc)
        let loader = DataLoader(dataset: data.train, batchSize: c.batchSize, shuffle: true, seed: c.seed, mean: data.mean, std: data.std, prefetch: 0)
        let batch = loader.epoch(0).first { _ in true }!
        for ((_, p), ((_, pa), (_, pb))) in zip(m.namedParameters, zip(ma.namedParameters, mb.namedParameters)) {
            p.value = QuadraticBezier.point(t, start: pa.value, middle: (pa.value + pb.value) * 0.5, end: pb.value)
        }
        m.zeroGrad()
        softmaxCrossEntropy(logits: m(Variable(batch.images)), labels: batch.labels).backward()
        var worst: Float = 0
        for ((name, p), ((_, pa), (_, pb))) in zip(m.namedParameters, zip(ma.namedParameters, mb.namedParameters)) {
            let expected = (pa.value + pb.value) * 0.5 - p.grad! * Float(c.lr * Float(2 * t * (1 - t)))
            worst = max(worst, expected.maxAbsDifference(try XCTUnwrap(stepped.tensors[name])))
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertGreaterThan(t * (1 - t), 0)
    }

    /// Killed during training, along the curve and on the plane, the same command finishes with the same numbers.
    func testResumeAfterKillsGivesTheSameReport() throws {
        let (tc, a, b) = try makeBends()
        let c = quickConfig(tc, a, b, epochs: 2)
        var reference = try ModeConnectivity.run(c, in: try dir("ref"), options: quietOptions())
        let d = try dir("cut")
        let stops: [(ModeConnectivity.Stage, Int)] = [(.training, 7), (.training, 30), (.curve, 2), (.plane, 4)]
        for stop in stops {
            var o = quietOptions(); o.interrupt = Interrupt(stage: stop.0.rawValue, iteration: stop.1)
            XCTAssertThrowsError(try ModeConnectivity.run(c, in: d, options: o)) { e in
                XCTAssertTrue(e is TrainingInterrupted, "\(stop): \(e)")
            }
        }
        var resumed = try ModeConnectivity.run(c, in: d, options: quietOptions())
        reference.trainingSeconds = 0; resumed.trainingSeconds = 0
        reference.start = ""; resumed.start = ""
        XCTAssertEqual(resumed.curve, reference.curve)
        XCTAssertEqual(resumed.plane, reference.plane)
        XCTAssertEqual(resumed.finalCurveTrainingLoss, reference.finalCurveTrainingLoss)
        XCTAssertEqual(resumed, reference)
        // A finished analysis is read back; other settings are refused.
        XCTAssertEqual(try ModeConnectivity.run(c, in: d, options: quietOptions()).curve, reference.curve)
        var other = c; other.grid = 4
        XCTAssertThrowsError(try ModeConnectivity.run(other, in: d, options: quietOptions())) { e in
            XCTAssertTrue("\(e)".contains("different configuration") && "\(e)".contains("grid: 3 in the directory, 4 now"), "\(e)")
        }
    }

    /// Batch-norm statistics recomputed as a cumulative average: with equal batches, the running mean is the data mean
    /// and the running variance the mean of the batches' unbiased variances.
    func testBatchNormRecomputationIsACumulativeAverage() {
        struct Net: Layer {
            let bn = BatchNorm(64)
            func callAsFunction(_ x: Variable) -> Variable { bn(flatten(x)) }
            var namedParameters: [(String, Variable)] { prefixed("bn", bn.namedParameters) }
            var namedBuffers: [(String, Variable)] { prefixed("bn", bn.namedBuffers) }
        }
        let net = Net()
        net.bn.runningMean.value = Tensor(shape: [64], repeating: 7)   // stale statistics to be replaced
        let data = makeSynthetic(count: 300, classes: 10, imageShape: [1, 8, 8], seed: 5)
        recomputeBatchNormStatistics(net, on: data, batchSize: 100, mean: nil, std: nil)
        let x = data.images.scalars
        for f in [0, 17, 63] {
            var batchMeans: [Double] = [], batchVars: [Double] = []
            for b in 0..<3 {
                let v = (0..<100).map { Double(x[(b * 100 + $0) * 64 + f]) }
                let m = v.reduce(0, +) / 100
                batchMeans.append(m)
                batchVars.append(v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 99)
            }
            XCTAssertEqual(Double(net.bn.runningMean.value.scalars[f]), batchMeans.reduce(0, +) / 3, accuracy: 1e-5)
            XCTAssertEqual(Double(net.bn.runningVar.value.scalars[f]), batchVars.reduce(0, +) / 3, accuracy: 1e-5)
        }
        XCTAssertNil(Context.batchNormMomentum)
    }
}
