import XCTest
import ShearsNN
import ShearsOptim
@testable import ShearsPrune
import ShearsTensor

/// Masked model vs its compaction: the same outputs, for every zoo family; the compacted model trains on.
final class CompactionTests: XCTestCase {
    func outputs(_ model: any Layer, _ x: Tensor) -> Tensor {
        Context.with(.inference) { GradMode.withoutGrad { model(Variable(x)).value } }
    }

    /// A thin `family` model with random batch-norm statistics, its groups and a random selection, from two seeds.
    func selected(_ family: ThinFamily, seeds: (UInt64, UInt64)) throws -> (any Layer, [DependencyGroup], ChannelSelection) {
        let model = family.make([:])
        randomizeBatchNorms(model, seed: seeds.0)
        let groups = try dependencyGroups(of: model, inputShape: family.inputShape)
        return (model, groups, randomSelection(groups, seed: seeds.1))
    }

    func testMaskedAndCompactedAgreeForEveryFamily() throws {
        for family in ThinFamily.all {
            let (model, groups, keep) = try selected(family, seeds: (11, 12))
            var g = Generator(seed: 13)
            let x = Tensor.normal([2] + family.inputShape, generator: &g)
            let dense = outputs(model, x)
            structuredMask(model, groups: groups, keep: keep).apply(to: model.namedParameters)
            let masked = outputs(model, x)
            let (small, widths) = try compact(model, groups: groups, keep: keep, build: family.make)
            let compacted = outputs(small, x)
            let scale = max(1, Double(masked.scalars.map(abs).max()!))
            XCTAssertLessThanOrEqual(Double(masked.maxAbsDifference(compacted)), 1e-5 * scale, family.name)
            XCTAssertGreaterThan(Double(masked.maxAbsDifference(dense)), 1e-4, "\(family.name): the mask changed nothing")
            XCTAssertLessThan(small.parameterCount, model.parameterCount, family.name)
            for (layer, w) in widths { XCTAssertEqual(layerWidths(of: small)[layer], w, "\(family.name) \(layer)") }
        }
    }

    func testZooModelCompactsByName() throws {
        var g = Generator(seed: 0)
        let model = try makeModel(.resnet20, inputShape: [3, 8, 8], classes: 10, generator: &g)
        randomizeBatchNorms(model, seed: 1)
        let groups = try dependencyGroups(of: model, inputShape: [3, 8, 8])
        let keep = randomSelection(groups, seed: 2)
        structuredMask(model, groups: groups, keep: keep).apply(to: model.namedParameters)
        let (small, widths) = try compact(model, name: .resnet20, inputShape: [3, 8, 8], classes: 10, groups: groups, keep: keep)
        XCTAssertEqual(widths["layer2.1.conv2"], keep["layer2.0.conv2"]!.count)
        let x = Tensor.normal([2, 3, 8, 8], generator: &g)
        XCTAssertLessThanOrEqual(outputs(model, x).maxAbsDifference(outputs(small, x)), 1e-5)
    }

    func testCompactedModelTrainsFurther() throws {
        let family = ThinFamily.all.first { $0.name == "resnet-cifar" }!
        let model = family.make([:])
        let groups = try dependencyGroups(of: model, inputShape: family.inputShape)
        let (small, _) = try compact(model, groups: groups, keep: randomSelection(groups, seed: 3), build: family.make)
        let batch = randomBatch([16] + family.inputShape, classes: 10, seed: 4)
        var sgd = SGD(learningRate: 0.05, momentum: 0.9)
        var losses: [Float] = []
        for _ in 0..<15 {
            small.zeroGrad()
            let loss = crossEntropyLossForTests(small, batch)
            losses.append(loss.value.scalar)
            loss.backward()
            sgd.step(small.namedParameters)
        }
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        XCTAssertLessThan(losses.last!, 0.75 * losses.first!, "\(losses)")
    }

    func testFixedGroupAndBadSelectionAreRefused() throws {
        var g = Generator(seed: 0)
        let model = MLP(inputs: 4, hidden: [3], classes: 2, generator: &g)
        let groups = try dependencyGroups(of: model, inputShape: [4])
        let build: ([String: Int]) throws -> any Layer = { w in
            var g = Generator(seed: 0)
            return MLP(inputs: 4, hidden: [3], classes: 2, widths: LayerWidths(w), generator: &g)
        }
        XCTAssertThrowsError(try compact(model, groups: groups, keep: ["fc2": [0]], build: build)) {
            XCTAssertTrue("\($0)".contains("fc2") && "\($0)".contains("output"), "\($0)")
        }
        XCTAssertThrowsError(try compact(model, groups: groups, keep: ["fc1": [5]], build: build)) {
            XCTAssertTrue("\($0)".contains("fc1"), "\($0)")
        }
    }

    func testGatherCutsBlocks() {
        let t = Tensor(shape: [2, 6], scalars: (0..<12).map(Float.init))
        // Channels of 2 features each along axis 1: keep channels 0 and 2.
        XCTAssertEqual(ChannelSlices.gather(t, axis: 1, block: 2, keep: [0, 2]).scalars, [0, 1, 4, 5, 6, 7, 10, 11])
        XCTAssertEqual(ChannelSlices.keepMask([2, 6], axis: 1, block: 2, keep: [1]).scalars,
                       [0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0])
    }

    func testScatterInvertsGather() {
        let t = Tensor(shape: [2, 6], scalars: (0..<12).map(Float.init))
        let cut = Tensor(shape: [2, 4], scalars: [-1, -2, -3, -4, -5, -6, -7, -8])
        XCTAssertEqual(ChannelSlices.scatter(into: t, cut, axis: 1, block: 2, keep: [0, 2]).scalars,
                       [-1, -2, 2, 3, -3, -4, -5, -6, 8, 9, -7, -8])
    }

    /// `expand` is compaction's inverse: a compacted model trained on (every value changed) written back into the
    /// original gives the masked twin — it computes what the compacted model computes, compacts back to the same
    /// values, and is 0 on every removed channel's parameters. For every zoo family.
    func testExpandWritesTheCompactedModelBackAsItsMaskedTwin() throws {
        for family in ThinFamily.all {
            let (model, groups, keep) = try selected(family, seeds: (21, 22))
            let (small, _) = try compact(model, groups: groups, keep: keep, build: family.make)
            var g = Generator(seed: 23)
            for (_, v) in small.namedParameters { v.value = v.value + Tensor.normal(v.shape, generator: &g) * 0.1 }
            try expand(small, into: model, groups: groups, keep: keep)
            let x = Tensor.normal([2] + family.inputShape, generator: &g)
            let a = outputs(model, x), b = outputs(small, x)
            XCTAssertLessThanOrEqual(Double(a.maxAbsDifference(b)), 1e-5 * max(1, Double(b.scalars.map(abs).max()!)), family.name)
            let again = compactedStateDict(model, groups: groups, keep: keep)
            for (name, v) in small.stateDict { XCTAssertEqual(again[name]?.scalars, v.value.scalars, "\(family.name) \(name)") }
            let mask = structuredMask(model, groups: groups, keep: keep)
            let params = Dictionary(model.namedParameters, uniquingKeysWith: { a, _ in a })
            for (name, m) in mask.tensors {
                let zeroWhereRemoved = zip(m.scalars, params[name]!.value.scalars).allSatisfy { $0 != 0 || $1 == 0 }
                XCTAssertTrue(zeroWhereRemoved, "\(family.name) \(name)")
            }
        }
    }
}
