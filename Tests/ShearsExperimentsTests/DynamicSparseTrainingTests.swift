import Foundation
import XCTest
@testable import ShearsExperiments
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// `prune dynamic` (SET, RigL) as a protocol: constant sparsity with a changing mask, and exact resume.
final class DynamicSparseTrainingTests: RunTestCase {
    /// LeNet-300-100 on the synthetic set, 40 iterations of 50 with momentum; ΔT = 5 until 0.75 · 40 = 30: updates
    /// at 5, 10, 15, 20, 25; evaluation and checkpoint every 8.
    private func quickConfig(_ method: DynamicSparseMethod) -> DynamicSparseConfig {
        var c = DynamicSparseConfig()
        c.training.model = .lenet300100
        c.training.dataset = .synthetic
        c.training.split = .pooled
        c.training.epochs = nil
        c.training.iterations = 40
        c.training.batchSize = 50
        c.training.lr = 0.05
        c.training.momentum = 0.9
        c.training.evalEvery = StepSpec(8, .iterations)
        c.method = method
        c.sparsity = 0.8
        c.updateEvery = 5
        c.dropFraction = 0.5
        return c
    }

    private func tensors(_ d: RunDirectory, _ file: String) throws -> [String: [Float]] {
        try SafetensorsFile.read(path: d.path(file)).tensors.mapValues(\.scalars)
    }

    func testSparsityStaysConstantWhileTheMaskMoves() throws {
        for method in [DynamicSparseMethod.set, .rigl] {
            let c = quickConfig(method)
            let d = try dir("run-\(method)")
            let s = try DynamicSparseTraining.run(c, in: d, options: quietOptions())
            XCTAssertEqual(s.maskUpdates, 5, "\(method): updates at 5, 10, 15, 20, 25")
            XCTAssertEqual(s.total, 64 * 300 + 300 * 100 + 100 * 10, "the three LeNet-300-100 weights on 8 × 8 inputs")
            XCTAssertEqual(s.remaining, 50_200 - 40_160, "ERK keeps N − ⌈s·N⌉")
            // The mask moved away from the initial random one, with the same count per layer.
            let setup = try TrainingSetup(c.training, prefetch: 0, say: { _ in })
            let initial = DynamicSparseTraining.initialMask(c, prunable: c.selection.select(setup.model))
            let final = try tensors(d, "mask.safetensors")
            XCTAssertTrue(final != initial.tensors.mapValues(\.scalars), "\(method): the mask changed")
            for (name, m) in final { XCTAssertEqual(m.reduce(0, +), initial[name]!.scalars.reduce(0, +), "\(method) \(name)") }
            // Pruned weights are exactly 0 in the saved model; every metrics row measured the same % remaining.
            let weights = try tensors(d, "model.safetensors")
            for (name, m) in final { XCTAssertTrue(zip(m, weights[name]!).allSatisfy { $0 == 1 || $1 == 0 }, "\(method) \(name)") }
            let rows = try JSONLines.numericRows(from: d.path("metrics.jsonl"))
            XCTAssertEqual(rows.count, 5)
            XCTAssertTrue(rows.allSatisfy { abs($0["percent_remaining"]! - s.percentRemaining) < 1e-9 })
            XCTAssertEqual(rows.map { $0["mask_updates"]! }, [1, 3, 4, 5, 5])   // at iterations 8, 16, 24, 32, 40
        }
    }

    /// Killed after iteration 13 (checkpoint at 8: the update at 10 is replayed, with RigL's gradient) and after 27
    /// (past the last update), then run to the end: bit-identical weights, mask and accuracies. gmp (t₀ = 4, steps at 9,
    /// 14, 19, 24, 29): killed after 13 (checkpoint at 8, before any pruning) and 27 (checkpoint at 24, four steps in).
    func testResumeIsBitIdentical() throws {
        for method in DynamicSparseMethod.allCases {
            let c = quickConfig(method)
            let a = try dir("full-\(method)"), b = try dir("resumed-\(method)")
            let full = try DynamicSparseTraining.run(c, in: a, options: quietOptions())
            XCTAssertThrowsError(try DynamicSparseTraining.run(c, in: b, options: quietOptions(stopAfterIteration: 13))) {
                XCTAssertTrue($0 is TrainingInterrupted, "\($0)")
            }
            XCTAssertThrowsError(try DynamicSparseTraining.run(c, in: b, options: quietOptions(stopAfterIteration: 27)))
            let resumed = try DynamicSparseTraining.run(c, in: b, options: quietOptions())
            // Compared as Booleans: a failure printing every weight would bury the message.
            XCTAssertTrue(try tensors(a, "model.safetensors") == tensors(b, "model.safetensors"), "\(method): the weights differ after resume")
            XCTAssertTrue(try tensors(a, "mask.safetensors") == tensors(b, "mask.safetensors"), "\(method): the masks differ after resume")
            XCTAssertEqual(full.testAccuracyFinal, resumed.testAccuracyFinal)
            XCTAssertEqual(full.testAccuracyAtBestValidation, resumed.testAccuracyAtBestValidation)
            XCTAssertEqual(try JSONLines.numericRows(from: b.path("metrics.jsonl")).count, 5, "each evaluation once")
        }
    }

    /// RigL grows where the *dense* gradient is largest: the gradient of the step's batch at the step's weights, read
    /// before `MaskedOptimizer` zeroes it at pruned positions (had it been read after, every candidate would tie at 0
    /// and the lowest indices would grow). One step with ΔT = 1, against a gradient computed here independently.
    func testRigLGrowsWhereTheDenseGradientOfTheStepIsLargest() throws {
        var c = quickConfig(.rigl)
        c.updateEvery = 1
        let setup = try TrainingSetup(c.training, prefetch: 0, say: { _ in })
        let prunable = c.selection.select(setup.model)
        let mask = DynamicSparseTraining.initialMask(c, prunable: prunable)
        mask.apply(to: prunable)
        // The first batch the loop draws, at the starting weights.
        let batch = try XCTUnwrap(setup.loader.epoch(0).first(where: { _ in true }))
        setup.model.zeroGrad()
        softmaxCrossEntropy(logits: setup.model(Variable(batch.images)), labels: batch.labels).backward()
        let dense = Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.grad!.scalars) })
        setup.model.zeroGrad()

        let hook = try DynamicSparsityHook(config: c, weights: prunable, mask: mask, total: setup.total)
        var loop = TrainLoop(model: setup.model, parameters: setup.parameters, loader: setup.loader, total: 1,
                             learningRate: { _ in c.training.lr }, divergence: { _, _ in "diverged" })
        loop.step = { loop, batch, iteration, optimizer in
            try TrainLoop.standardStep(loop, batch, iteration, &optimizer) { hook.captureDenseGradients(atStep: iteration + 1) }
        }
        var state = LoopState(optimizer: masked(makeOptimizer(c.training), mask: mask))
        try loop.run(&state, hooks: [hook])
        var grewSomewhere = false
        for name in mask.names {
            let before = mask[name]!.scalars, after = hook.mask[name]!.scalars, g = dense[name]!
            let grown = before.indices.filter { before[$0] == 0 && after[$0] == 1 }
            let expected = before.indices.filter { before[$0] == 0 }.sorted { (-abs(g[$0]), $0) < (-abs(g[$1]), $1) }.prefix(grown.count)
            XCTAssertTrue(Set(grown) == Set(expected), "\(name): the grown positions are not the top-|g| inactive ones")
            grewSomewhere = grewSomewhere || !grown.isEmpty
        }
        XCTAssertTrue(grewSomewhere)
    }

    func testRefusesValuesOutOfRangeNamingTheFlag() {
        var c = quickConfig(.set)
        for (change, flag) in [({ (c: inout DynamicSparseConfig) in c.sparsity = 1 }, "--sparsity"),
                               ({ $0.sparsity = 0 }, "--sparsity"),
                               ({ $0.updateEvery = 0 }, "--update-every"),
                               ({ $0.dropFraction = 0 }, "--drop-fraction"),
                               ({ $0.dropFraction = 1.5 }, "--drop-fraction"),
                               ({ $0.endUpdate = 0 }, "--end-update"),
                               ({ $0.endUpdate = 1.01 }, "--end-update"),
                               ({ $0.method = .gmp; $0.beginUpdate = -0.1 }, "--begin-update"),
                               ({ $0.method = .gmp; $0.beginUpdate = 0.75 }, "--end-update"),
                               ({ $0.method = .gmp; $0.beginUpdate = 0.8 }, "--begin-update"),
                               ({ $0.method = .gmp; $0.sparseInit = .fanIn }, "--sparse-init")] as [((inout DynamicSparseConfig) -> Void, String)] {
            c = quickConfig(.set)
            change(&c)
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains(flag), "\($0)") }
        }
    }

    /// `--sparse-init fan-in`: the kept weights start rescaled to each unit's sparse fan-in (checked against the dense
    /// initialisation of the same seed, masked and rescaled here), and a killed run resumes bit-identical: the checkpoint's
    /// weights are not rescaled a second time.
    func testFanInInitialisationStartsRescaledAndResumesBitIdentical() throws {
        var c = quickConfig(.set)
        c.sparseInit = .fanIn
        var atZero = c
        atZero.training.iterations = 1
        atZero.training.lr = 1e-30   // one step that moves nothing: the saved model is the initialisation
        atZero.training.momentum = 0
        let z = try dir("fan-in-start")
        _ = try DynamicSparseTraining.run(atZero, in: z, options: quietOptions())
        let setup = try TrainingSetup(c.training, prefetch: 0, say: { _ in })
        let prunable = c.selection.select(setup.model)
        let mask = DynamicSparseTraining.initialMask(c, prunable: prunable)
        mask.apply(to: prunable)
        SparseInitialisation.fanIn.apply(to: prunable, mask: mask)
        let saved = try tensors(z, "model.safetensors")
        for (name, p) in prunable {
            let want = p.value.scalars, got = saved[name]!
            XCTAssertTrue(zip(want, got).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($0)) }, "\(name) is not the rescaled initialisation")
        }
        let a = try dir("fan-in-full"), b = try dir("fan-in-resumed")
        let full = try DynamicSparseTraining.run(c, in: a, options: quietOptions())
        XCTAssertThrowsError(try DynamicSparseTraining.run(c, in: b, options: quietOptions(stopAfterIteration: 13)))
        let resumed = try DynamicSparseTraining.run(c, in: b, options: quietOptions())
        XCTAssertTrue(try tensors(a, "model.safetensors") == tensors(b, "model.safetensors"), "the weights differ after resume")
        XCTAssertEqual(full.testAccuracyFinal, resumed.testAccuracyFinal)
        let d = try dir("dense-init")
        _ = try DynamicSparseTraining.run(quickConfig(.set), in: d, options: quietOptions())
        XCTAssertTrue(try tensors(a, "model.safetensors") != tensors(d, "model.safetensors"), "fan-in changed nothing")
    }

    /// A config.json written before --sparse-init existed decodes as the dense initialisation.
    func testConfigWithoutSparseInitDecodes() throws {
        var c = quickConfig(.rigl)
        c.sparseInit = .fanIn
        let data = try JSONEncoder().encode(c)
        XCTAssertEqual(try JSONDecoder().decode(DynamicSparseConfig.self, from: data), c)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object.removeValue(forKey: "sparseInit") as? String, "fan-in")
        let old = try JSONDecoder().decode(DynamicSparseConfig.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertNil(old.sparseInit, "the dense scale")
    }

    /// A config.json written before --begin-update existed still decodes (to the default), and every field round-trips.
    func testConfigWithoutBeginUpdateDecodes() throws {
        var c = quickConfig(.rigl)
        c.beginUpdate = 0.2
        let data = try JSONEncoder().encode(c)
        XCTAssertEqual(try JSONDecoder().decode(DynamicSparseConfig.self, from: data), c)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertNotNil(object.removeValue(forKey: "beginUpdate"))
        let old = try JSONDecoder().decode(DynamicSparseConfig.self, from: JSONSerialization.data(withJSONObject: object))
        c.beginUpdate = 0.1
        XCTAssertEqual(old, c)
    }

    // MARK: gradual magnitude pruning (--method gmp)

    /// T = 40, begin 0.1, end 0.75, ΔT = 5: t₀ = 4, the last step the latest 4 + 5k before 30, i.e. 29, so n = 5.
    func testGMPScheduleHitsTheCubicValuesAndTheTargetCountAtTheLastStep() throws {
        var c = quickConfig(.gmp)
        c.distribution = .uniform
        let g = try DynamicSparsityHook.gmpSchedule(c, total: 40)
        XCTAssertEqual([g.begin, g.frequency, g.steps, g.end], [4, 5, 5, 29])
        // s_t = 0.8 · (1 − (1 − k/5)³): k = 1 → 0.8 · 0.488, k = 3 → 0.8 · 0.936, k = 5 → 0.8.
        XCTAssertEqual(g.sparsity(at: 4), 0)
        XCTAssertEqual(g.sparsity(at: 9), 0.8 * (1 - 0.512), accuracy: 1e-12)
        XCTAssertEqual(g.sparsity(at: 13), 0.8 * (1 - 0.512), accuracy: 1e-12, "held between steps")
        XCTAssertEqual(g.sparsity(at: 19), 0.8 * (1 - 0.064), accuracy: 1e-12)
        XCTAssertEqual(g.sparsity(at: 29), 0.8, "exactly s_f at the last step")
        // The hook prunes at 9, …, 29 only, and counts them.
        let setup = try TrainingSetup(c.training, prefetch: 0, say: { _ in })
        let prunable = c.selection.select(setup.model)
        let hook = try DynamicSparsityHook(config: c, weights: prunable, mask: Mask.ones(for: prunable), total: 40)
        XCTAssertEqual((1...40).filter(hook.isUpdate), [9, 14, 19, 24, 29])
        XCTAssertEqual([8, 9, 28, 29, 40].map(hook.updateCount(through:)), [0, 1, 4, 5, 5])
        // 0.1 · 30 is 3.0000000000000004 in binary: t₀ is still 3, not 4.
        c.updateEvery = 2
        XCTAssertEqual(try DynamicSparsityHook.gmpSchedule(c, total: 30).begin, 3)
        // No step fits: refused naming the flags.
        c.updateEvery = 100
        XCTAssertThrowsError(try DynamicSparsityHook.gmpSchedule(c, total: 40)) {
            XCTAssertTrue("\($0)".contains("--update-every") && "\($0)".contains("--begin-update"), "\($0)")
        }
    }

    /// A whole gmp run: dense until the first step, % remaining falling along the schedule, masks nested, and exactly
    /// n − ⌈s·n⌉ kept per layer at the end (uniform) — the count SET and RigL keep throughout.
    func testGMPRunPrunesNestedToExactlyTheTarget() throws {
        for distribution in DensityDistribution.allCases {
            var c = quickConfig(.gmp)
            c.distribution = distribution
            let d = try dir("gmp-\(distribution)")
            let s = try DynamicSparseTraining.run(c, in: d, options: quietOptions())
            XCTAssertEqual(s.maskUpdates, 5)
            let shapes = ["fc1.weight": [300, 64], "fc2.weight": [100, 300], "fc3.weight": [10, 100]]
            let final = try tensors(d, "mask.safetensors")
            XCTAssertEqual(Set(final.keys), Set(shapes.keys), "the LeNet-300-100 weight names")
            let expected = dynamicKeepCounts(shapes: shapes, sparsity: 0.8, distribution: distribution)
            XCTAssertEqual(s.remaining, expected.values.reduce(0, +), "\(distribution): the target count")
            if distribution == .uniform {
                for (name, m) in final { XCTAssertEqual(Int(m.reduce(0, +)), expected[name], name) }
            }
            // % remaining at the evaluations 8, 16, 24, 32, 40: dense, after steps 1–2, 1–4, 1–5, 1–5.
            let rows = try JSONLines.numericRows(from: d.path("metrics.jsonl")).map { $0["percent_remaining"]! }
            XCTAssertEqual(rows[0], 100)
            XCTAssertTrue(rows[1] < 100 && rows[2] < rows[1] && rows[3] < rows[2], "\(rows)")
            XCTAssertEqual(rows[3], s.percentRemaining, accuracy: 1e-9)
            XCTAssertEqual(rows[4], s.percentRemaining, accuracy: 1e-9)
            XCTAssertEqual(100 * Double(s.remaining) / Double(s.total), 20, accuracy: 0.01)
            let weights = try tensors(d, "model.safetensors")
            for (name, m) in final { XCTAssertTrue(zip(m, weights[name]!).allSatisfy { $0 == 1 || $1 == 0 }, name) }
            // The accuracy at best validation is chosen among the evaluations at the final sparsity (32 and 40).
            let all = try JSONLines.numericRows(from: d.path("metrics.jsonl"))
            let atTarget = all.filter { $0["step"]! >= 29 }
            XCTAssertEqual(atTarget.count, 2)
            let best = atTarget.max { ($0["val_acc"]!, -$0["step"]!) < ($1["val_acc"]!, -$1["step"]!) }!
            XCTAssertEqual(s.testAccuracyAtBestValidation, best["test_acc"])
        }
    }

    /// Each step's update inside the loop: nested (what was pruned stays pruned), the alive weights of smallest |w|
    /// go, and the momentum of the newly pruned weights — nonzero just before — is 0 right after the update, in the
    /// state the checkpoint of that iteration would hold (not only at the next step).
    func testGMPStepIsNestedByMagnitudeAndZeroesTheirMomentum() throws {
        var c = quickConfig(.gmp)
        c.distribution = .uniform
        let setup = try TrainingSetup(c.training, prefetch: 0, say: { _ in })
        let prunable = c.selection.select(setup.model)
        let hook = try DynamicSparsityHook(config: c, weights: prunable, mask: Mask.ones(for: prunable), total: 40)
        var loop = TrainLoop(model: setup.model, parameters: setup.parameters, loader: setup.loader, total: 20,
                             learningRate: { _ in c.training.lr }, divergence: { _, _ in "diverged" })
        loop.step = { loop, batch, iteration, optimizer in try TrainLoop.standardStep(loop, batch, iteration, &optimizer) }
        struct Seen { var maskBefore: Mask; var weights: [String: [Float]]; var momentumBefore: [String: [Float]]
                      var maskAfter = Mask(); var momentumAfter: [String: [Float]] = [:] }
        func momentum(_ s: LoopState) -> [String: [Float]] {
            Dictionary(uniqueKeysWithValues: prunable.map { name, _ in
                (name, s.optimizer.state.first { $0.key.hasSuffix("/" + name) }?.value.scalars ?? []) })
        }
        var seen: [Seen] = []
        let before = ClosureHook(after: { _, s, _ in
            guard hook.isUpdate(s.iteration) else { return }
            seen.append(Seen(maskBefore: hook.mask, weights: Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.value.scalars) }),
                             momentumBefore: momentum(s)))
        })
        let after = ClosureHook(after: { _, s, _ in
            guard hook.isUpdate(s.iteration) else { return }
            seen[seen.count - 1].maskAfter = hook.mask
            seen[seen.count - 1].momentumAfter = momentum(s)
        })
        var state = LoopState(optimizer: masked(makeOptimizer(c.training), mask: hook.mask))
        try loop.run(&state, hooks: [before, hook, after])
        XCTAssertEqual(seen.count, 3, "steps at 9, 14, 19")
        XCTAssertEqual(seen[0].maskBefore.remaining, seen[0].maskBefore.total, "dense until the first step")
        for (k, step) in seen.enumerated() {
            let s_k = 0.8 * (1 - pow(1 - Double(k + 1) / 5, 3))
            let shapes = step.maskAfter.tensors.mapValues(\.shape)
            XCTAssertEqual(step.maskAfter.remaining, dynamicKeepCounts(shapes: shapes, sparsity: s_k, distribution: .uniform).values.reduce(0, +),
                           "step \(k + 1): n − ⌈s_t·n⌉ per layer")
            for name in step.maskAfter.names {
                let a = step.maskBefore[name]!.scalars, b = step.maskAfter[name]!.scalars, w = step.weights[name]!
                XCTAssertTrue(zip(a, b).allSatisfy { $0 == 1 || $1 == 0 }, "step \(k + 1) \(name): a pruned weight came back")
                let newly = a.indices.filter { a[$0] == 1 && b[$0] == 0 }, kept = b.indices.filter { b[$0] == 1 }
                XCTAssertFalse(newly.isEmpty, "step \(k + 1) \(name)")
                XCTAssertLessThanOrEqual(newly.map { abs(w[$0]) }.max()!, kept.map { abs(w[$0]) }.min()!,
                                         "step \(k + 1) \(name): a pruned weight was larger than a kept one")
                let m0 = step.momentumBefore[name]!, m1 = step.momentumAfter[name]!
                XCTAssertTrue(newly.contains { m0[$0] != 0 }, "step \(k + 1) \(name): momentum was there to zero")
                XCTAssertTrue(newly.allSatisfy { m1[$0] == 0 }, "step \(k + 1) \(name): momentum left at newly pruned positions")
                XCTAssertTrue(kept.contains { m1[$0] != 0 }, "step \(k + 1) \(name): the kept weights' momentum was kept")
            }
        }
    }

    /// The last update lies before T_end = end_update · T, computed without floating-point noise: 0.55 · 100 is
    /// 55.00000000000001 as a Double, and iteration 55 must not update.
    func testNoUpdateAtTheEndIterationDespiteRounding() throws {
        var c = DynamicSparseConfig()
        c.method = .set
        c.updateEvery = 5
        c.endUpdate = 0.55
        XCTAssertGreaterThan(0.55 * 100.0, 55.0)
        let w = Variable(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        let hook = try DynamicSparsityHook(config: c, weights: [("w", w)], mask: Mask.ones(for: [("w", w)]), total: 100)
        XCTAssertEqual(hook.endStep, 55)
        XCTAssertEqual((1...100).filter(hook.isUpdate), Array(stride(from: 5, through: 50, by: 5)))
        XCTAssertEqual(hook.updateCount(through: 100), 10)
        XCTAssertEqual(DynamicSparsityHook.iteration(atFraction: 0.75, of: 1000), 750)
        XCTAssertEqual(DynamicSparsityHook.iteration(atFraction: 0.7501, of: 1000), 751)
    }
}
