// InferencePlan (ShearsTensor/Kernels/InferencePlan.swift, ShearsNN/InferencePlans.swift): the compiled inference
// forward against the plain one over every zoo family (stride 2, 1×1 shortcuts, first layers, max-pool stems,
// batch 1 and odd batches), with sparse forms attached, after writes to weights and statistics, and its refusals.

import XCTest
import ShearsNN
import ShearsPrune
import ShearsTensor

final class InferencePlanTests: XCTestCase {
    func plain(_ model: any Layer, _ x: Tensor) -> Tensor {
        Context.with(.inference) { GradMode.withoutGrad { model(Variable(x)).value } }
    }

    /// Running statistics and affine parameters away from their initial 0 / 1, so that folding them shows.
    func randomizeNormalization(_ model: any Layer, generator g: inout Generator) {
        for (name, v) in model.namedParameters + model.namedBuffers where v.shape.count == 1 {
            let n = v.shape[0]
            if name.hasSuffix("running_var") {
                v.value = Tensor(shape: [n], scalars: (0..<n).map { _ in 0.5 + g.nextFloat() })
            } else if name.hasSuffix("running_mean") || name.hasSuffix("bias") || name.hasSuffix("weight") {
                v.value = Tensor(shape: [n], scalars: (0..<n).map { _ in 0.2 * (g.nextFloat() - 0.5) + (name.hasSuffix("weight") ? 1 : 0) })
            }
        }
    }

    /// max |plan − plain| ≤ 1e-5 · max(1, max |plain|).
    func assertAgrees(_ plan: Tensor, _ plain: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(plan.shape, plain.shape, what, file: file, line: line)
        let scale = max(1, max(abs(plain.max()), abs(plain.min())))
        XCTAssertLessThanOrEqual(plan.maxAbsDifference(plain), 1e-5 * scale, "\(what): plan vs plain forward", file: file, line: line)
    }

    func model(_ name: ModelName, _ shape: [Int], seed: UInt64) throws -> any Layer {
        var g = Generator(seed: seed)
        let net = try makeModel(name, inputShape: shape, classes: 10, generator: &g)
        randomizeNormalization(net, generator: &g)
        return net
    }

    static let families: [(ModelName, [Int])] = [
        (.lenet300100, [1, 28, 28]), (.conv4, [3, 16, 16]), (.vgg11, [3, 32, 32]), (.resnet20, [3, 16, 16]),
        (.resnet18, [3, 72, 72]), (.resnet50, [3, 16, 16]),
    ]

    func testEveryZooFamilyMatchesThePlainForwardAtBatchOneAndOdd() throws {
        for (i, (name, shape)) in Self.families.enumerated() {
            let net = try model(name, shape, seed: 9100 + UInt64(i))
            for batch in [1, 3] {
                var g = Generator(seed: 9200 + UInt64(batch))
                let x = Tensor.normal([batch] + shape, generator: &g)
                let plan = try InferencePlan(net, batchSize: batch, inputShape: shape)
                assertAgrees(plan(x), plain(net, x), "\(name.rawValue) batch \(batch)")
                // A second call reuses the buffers: same result.
                let y2 = plan(x)
                assertAgrees(y2, plain(net, x), "\(name.rawValue) batch \(batch), second call")
            }
        }
        // A pre-activation family: WRN-10-2 (batch norm + ReLU before each conv, run as a standalone affine step; the
        // residual add fused into the second conv).
        var g = Generator(seed: 9190)
        let wrn = WideResNet(depth: 10, widen: 2, classes: 10, inputChannels: 3, generator: &g)
        randomizeNormalization(wrn, generator: &g)
        for batch in [1, 3] {
            let x = Tensor.normal([batch, 3, 8, 8], generator: &g)
            let plan = try InferencePlan(wrn, batchSize: batch, inputShape: [3, 8, 8])
            XCTAssertTrue(plan.summary.contains("batchNorm+relu"), "\(plan.summary)")
            assertAgrees(plan(x), plain(wrn, x), "wrn-10-2 batch \(batch)")
        }
    }

    /// Batch norms with nothing to fold into: on the NCHW model input, and on [N, C] after a ReLU.
    func testStandaloneBatchNormsInEveryLayout() throws {
        struct Net: Layer {
            let inNorm = BatchNorm(3), conv: Conv2d, fc1: Linear, norm = BatchNorm(8), fc2: Linear
            init(generator g: inout Generator) {
                conv = Conv2d(3, 4, kernel: 3, stride: 2, padding: 1, bias: true, initializer: .kaimingNormal, generator: &g)
                fc1 = Linear(4 * 4 * 4, 8, generator: &g); fc2 = Linear(8, 5, generator: &g)
            }
            func callAsFunction(_ x: Variable) -> Variable {
                fc2(norm(relu(fc1(flatten(relu(conv(inNorm(x))))))))
            }
            var namedParameters: [(String, Variable)] {
                prefixed("in", inNorm.namedParameters) + prefixed("conv", conv.namedParameters) + prefixed("fc1", fc1.namedParameters)
                    + prefixed("norm", norm.namedParameters) + prefixed("fc2", fc2.namedParameters)
            }
            var namedBuffers: [(String, Variable)] { prefixed("in", inNorm.namedBuffers) + prefixed("norm", norm.namedBuffers) }
        }
        var g = Generator(seed: 9170)
        let net = Net(generator: &g)
        randomizeNormalization(net, generator: &g)
        let x = Tensor.normal([3, 3, 8, 8], generator: &g)
        let plan = try InferencePlan(net, batchSize: 3, inputShape: [3, 8, 8])
        XCTAssertEqual(plan.summary.filter { $0 == "batchNorm" }.count, 2, "\(plan.summary)")
        XCTAssertTrue(plan.summary.contains("reorder"), "flatten of NHWC activations reorders: \(plan.summary)")
        assertAgrees(plan(x), plain(net, x), "standalone batch norms")
    }

    func testLinearLayersAgreeOnBothLibraries() throws {
        let net = try model(.lenet300100, [1, 28, 28], seed: 9150)
        var g = Generator(seed: 9151)
        for batch in [1, 5] {
            let x = Tensor.normal([batch, 1, 28, 28], generator: &g)
            for (kernels, marker) in [(InferencePlan.KernelChoice.blas, "linear+relu"), (.innerProduct, "linear brgemm")] {
                let plan = try InferencePlan(net, batchSize: batch, inputShape: [1, 28, 28], kernels: kernels)
                XCTAssertTrue(plan.summary.contains { $0.contains(marker) || ($0.contains(" linear ") && kernels == .innerProduct) },
                              "\(kernels): \(plan.summary)")
                assertAgrees(plan(x), plain(net, x), "lenet300-100 batch \(batch) on \(kernels)")
            }
        }
    }

    func testBatchNormIsFoldedAndPostOpsFused() throws {
        let net = try model(.resnet20, [3, 16, 16], seed: 9300)
        let plan = try InferencePlan(net, batchSize: 2, inputShape: [3, 16, 16])
        let convs = plan.summary.filter { $0.contains(" conv ") }
        XCTAssertEqual(convs.count, 21, "one step per convolution (19 3×3, 2 shortcuts): \(plan.summary)")
        XCTAssertTrue(convs.allSatisfy { $0.contains("+bn") }, "every conv carries its batch norm: \(convs)")
        XCTAssertEqual(convs.filter { $0.contains("+add+relu") }.count, 9, "each block's residual add and ReLU are post-ops")
        XCTAssertFalse(plan.summary.contains { $0.hasPrefix("batchNorm") || $0 == "relu" || $0 == "addReLU" },
                       "no batch norm, ReLU or add runs on its own: \(plan.summary)")
        XCTAssertLessThanOrEqual(2 * plan.bufferCount, plan.summary.count, "activation buffers are reused, not one per step")
    }

    func testSparseFormsStayInUseAndAgree() throws {
        for (name, shape) in [(ModelName.lenet300100, [1, 28, 28]), (.resnet20, [3, 16, 16])] {
            let net = try model(name, shape, seed: 9400)
            let prunable = PrunableSelection().select(net)
            let scores = try MagnitudeScore().scores(model: net, parameters: prunable, mask: Mask.ones(for: prunable))
            prune(scores: scores, mask: Mask.ones(for: prunable), fraction: 0.9, allocation: .layerwise,
                  shapes: Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.shape) })).apply(to: prunable)
            // Every weight sparse, whatever the timings say, so that each sparse step runs.
            for (_, p) in prunable { p.inferenceForm = SparseWeight(p.value) }
            var g = Generator(seed: 9401)
            let x = Tensor.normal([3] + shape, generator: &g)
            let plan = try InferencePlan(net, batchSize: 3, inputShape: shape, kernels: .sparse)
            XCTAssertEqual(plan.summary.filter { $0.contains("sparse") }.count, prunable.count, "\(name.rawValue): \(plan.summary)")
            assertAgrees(plan(x), plain(net, x), "\(name.rawValue) sparse")
            // Measured: the sparse kernel only where it beat the fused dense step; the same outputs either way.
            let measured = try InferencePlan(net, batchSize: 3, inputShape: shape)
            XCTAssertLessThanOrEqual(measured.summary.filter { $0.contains("sparse") }.count, prunable.count)
            assertAgrees(measured(x), plain(net, x), "\(name.rawValue) sparse where measured faster")
            XCTAssertTrue(prunable.allSatisfy { $0.1.inferenceForm != nil }, "building a plan keeps the model's sparse forms")
        }
    }

    func testAWriteToAWeightOrStatisticReloadsThePlan() throws {
        let net = try model(.resnet20, [3, 8, 8], seed: 9500)
        var g = Generator(seed: 9501)
        let x = Tensor.normal([2, 3, 8, 8], generator: &g)
        let plan = try InferencePlan(net, batchSize: 2, inputShape: [3, 8, 8])
        let before = plan(x)
        XCTAssertFalse(plan.isStale)
        let conv = net.namedParameters.first { $0.0 == "layer2.0.conv1.weight" }!.1
        conv.value.scale(by: 0.5)
        XCTAssertTrue(plan.isStale, "a weight write marks the plan stale")
        let afterWeight = plan(x)
        assertAgrees(afterWeight, plain(net, x), "after a weight write")
        XCTAssertGreaterThan(afterWeight.maxAbsDifference(before), 1e-3, "the write changed the output")
        let mean = net.namedBuffers.first { $0.0 == "layer3.0.bn2.running_mean" }!.1
        mean.value.addScaled(Tensor(shape: mean.shape, repeating: 0.3), alpha: 1)
        assertAgrees(plan(x), plain(net, x), "after a running-statistics write")
    }

    func testRefusesAnOpItDoesNotRunNamingIt() throws {
        struct Gate: Layer {
            let fc: Linear
            init() { var g = Generator(seed: 9700); fc = Linear(4, 3, generator: &g) }
            func callAsFunction(_ x: Variable) -> Variable { sigmoid(fc(x)) }
            var namedParameters: [(String, Variable)] { fc.namedParameters }
        }
        XCTAssertThrowsError(try InferencePlan(Gate(), batchSize: 1, inputShape: [4])) { error in
            XCTAssertTrue("\(error)".contains("sigmoid"), "the error names the op: \(error)")
        }
        XCTAssertNil(InferencePlans.plan(for: Gate(), inputShape: [1, 4]))
    }

    func testTheCacheReusesAPlanAndFollowsTheSparseChoice() throws {
        let net = try model(.lenet300100, [1, 28, 28], seed: 9600)
        let a = InferencePlans.plan(for: net, inputShape: [5, 1, 28, 28])
        XCTAssertNotNil(a)
        XCTAssertTrue(a === InferencePlans.plan(for: net, inputShape: [5, 1, 28, 28]), "same model and shape: same plan")
        let fc1 = net.namedParameters.first { $0.0 == "fc1.weight" }!.1
        fc1.inferenceForm = SparseWeight(fc1.value)
        let b = InferencePlans.plan(for: net, inputShape: [5, 1, 28, 28])
        XCTAssertFalse(a === b, "a new sparse form: a new plan")
        XCTAssertLessThanOrEqual(b?.summary.filter { $0.contains("sparse") }.count ?? 9, 1, "at most fc1 runs sparse")
        var g = Generator(seed: 9601)
        let x = Tensor.normal([5, 1, 28, 28], generator: &g)
        assertAgrees(InferencePlans.infer(net, x), plain(net, x), "through the cache")
        InferencePlans.removeAll()
    }
}
