import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsPrune
import ShearsTensor

/// `StructuredPruning.run` end to end on the synthetic set, and the widths metadata that rebuilds its output.
final class StructuredPruningTests: RunTestCase {
    func quickConfig() -> StructuredPruningConfig {
        var c = StructuredPruningConfig()
        c.training.model = .conv2
        c.training.dataset = .synthetic
        c.training.validation = 100
        c.training.trainSubset = 128
        c.training.batchSize = 32
        c.training.lr = 0.01
        c.training.momentum = 0.9
        c.channelRatio = 0.5
        c.finetuneEpochs = 1
        c.roundTo = 8
        return c
    }

    func testIterativeRunCompactsAndReloads() throws {
        var c = quickConfig()
        c.schedule = .iterative
        c.steps = 2
        c.criterion = "l2"
        let dir = scratch.appendingPathComponent("out").path
        let summary = try StructuredPruning.run(c, directory: dir, threads: 1)
        XCTAssertEqual(summary.finetuneIterations, 2 * 4)             // 128 examples / 32 per batch, two rounds
        XCTAssertLessThan(summary.after.parameters, summary.before.parameters)
        XCTAssertLessThan(summary.after.macs, summary.before.macs)
        XCTAssertLessThanOrEqual(summary.maskedVersusCompacted, 1e-4)
        XCTAssertEqual(summary.after.testAccuracy, summary.masked.testAccuracy, accuracy: 1e-9)
        for (layer, w) in summary.after.widths { XCTAssertEqual(w % 8, 0, layer) }
        // The compacted file rebuilds from the zoo definition through its metadata.
        let path = (dir as NSString).appendingPathComponent(StructuredPruning.compactedName)
        XCTAssertEqual(try ModelWidthsMetadata.read(path: path), summary.after.widths)
        let reloaded = try loadZooModel(.conv2, inputShape: [1, 8, 8], classes: 10, from: path)
        XCTAssertEqual(reloaded.parameterCount, summary.after.parameters)
        let masked = try loadZooModel(.conv2, inputShape: [1, 8, 8], classes: 10,
                                      from: (dir as NSString).appendingPathComponent(StructuredPruning.maskedName))
        XCTAssertEqual(masked.parameterCount, summary.before.parameters)
        XCTAssertTrue(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("summary.json")))
    }

    func testTaylorAndBatchNormPenaltyRun() throws {
        var c = quickConfig()
        c.training.model = .lenet300100
        c.criterion = "taylor"
        c.allocation = .layerwise
        c.batchNormPenalty = 1e-4
        c.roundTo = 1
        let summary = try StructuredPruning.run(c, directory: scratch.appendingPathComponent("t").path, threads: 1)
        XCTAssertEqual(summary.after.widths, ["fc1": 150, "fc2": 50])
    }

    func testWidthsMetadataSurvivesBitmaskExportAndRejectsNonsense() throws {
        var g = Generator(seed: 0)
        let widths = ["fc1": 7, "fc2": 3]
        let model = try makeModel(.lenet300100, inputShape: [1, 4, 4], classes: 10, widths: widths, generator: &g)
        let path = scratch.appendingPathComponent("m.safetensors").path
        try saveStateDict(model, to: path, metadata: [ModelWidthsMetadata.key: ModelWidthsMetadata.encode(widths)])
        let raw = try model.stateDict.reduce(into: [String: RawTensor]()) { $0[$1.0] = try RawTensor($1.1.value) }
        let exported = scratch.appendingPathComponent("b.safetensors").path
        try SparseStateDict.write(raw, metadata: [ModelWidthsMetadata.key: ModelWidthsMetadata.encode(widths)],
                                  as: .bitmask, to: exported)
        for p in [path, exported] {
            XCTAssertEqual(try ModelWidthsMetadata.read(path: p), widths)
            XCTAssertEqual(try loadZooModel(.lenet300100, inputShape: [1, 4, 4], classes: 10, from: p).parameterCount,
                           model.parameterCount)
        }
        for bad in ["[1]", "{\"fc1\": 0}", "{\"fc1\": 2.5}", "{\"fc1\": \"x\"}"] {
            XCTAssertThrowsError(try ModelWidthsMetadata.decode(bad, source: "f.safetensors")) {
                XCTAssertTrue("\($0)".contains("shears.widths"), "\($0)")
            }
        }
        // Widths that do not fit the model name the layer.
        let wrong = scratch.appendingPathComponent("w.safetensors").path
        try saveStateDict(model, to: wrong, metadata: [ModelWidthsMetadata.key: "{\"fc3\":4}"])
        XCTAssertThrowsError(try loadZooModel(.lenet300100, inputShape: [1, 4, 4], classes: 10, from: wrong)) {
            XCTAssertTrue("\($0)".contains("fc3"), "\($0)")
        }
    }

    func testZooWidthsKeepDefaultsAndNameBadLayers() throws {
        for name in [ModelName.lenet300100, .resnet20] {
            var a = Generator(seed: 5), b = Generator(seed: 5)
            let shape = name == .resnet20 ? [3, 8, 8] : [1, 28, 28]
            let nominal = try makeModel(name, inputShape: shape, classes: 10, generator: &a)
            let explicit = try makeModel(name, inputShape: shape, classes: 10, widths: layerWidths(of: nominal), generator: &b)
            XCTAssertEqual(nominal.stateDict.map(\.0), explicit.stateDict.map(\.0))
            for (x, y) in zip(nominal.stateDict, explicit.stateDict) { XCTAssertEqual(x.1.value.scalars, y.1.value.scalars, x.0) }
        }
        var g = Generator(seed: 0)
        let cases: [([String: Int], [String])] = [
            (["fc": 5], ["fc", "classifier"]),
            (["layer1.1.conv2": 8], ["layer1.1.conv2", "identity"]),
            (["conv1": 0], ["conv1", "at least 1"]),
            (["layer2.0.shortcut.0": 5], ["layer2.0.shortcut.0", "layer2.0.conv2"]),
        ]
        for (widths, words) in cases {
            XCTAssertThrowsError(try makeModel(.resnet20, inputShape: [3, 8, 8], classes: 10, widths: widths, generator: &g)) { e in
                for w in words { XCTAssertTrue("\(e)".contains(w), "\(e) should name \(w)") }
            }
        }
    }
}

final class NMExportTests: RunTestCase {
    func testNMExportCarriesItsPatternAndLoads() throws {
        var g = Generator(seed: 0)
        let model = MLP(inputs: 8, hidden: [4], classes: 4, generator: &g)
        let pattern = try NMPattern(parsing: "2:4")
        let weights = model.namedParameters.filter { $0.1.shape.count == 2 }
        let mask = try nmMask(scores: Dictionary(uniqueKeysWithValues: weights.map { ($0.0, $0.1.value.map(abs)) }), pattern: pattern)
        let path = scratch.appendingPathComponent("nm.safetensors").path
        XCTAssertThrowsError(try exportNM(model, mask: mask, pattern: pattern, to: path)) {   // not applied yet
            XCTAssertTrue("\($0)".contains("fc1.weight"), "\($0)")
        }
        mask.apply(to: model.namedParameters)
        try exportNM(model, mask: mask, pattern: pattern, to: path)
        let (decoded, info) = try SparseStateDict.read(path: path)
        XCTAssertEqual(decoded.metadata[NMPattern.metadataKey], "2:4")
        XCTAssertEqual(info.format, .bitmask)
        var h = Generator(seed: 1)
        let back = MLP(inputs: 8, hidden: [4], classes: 4, generator: &h)
        try loadStateDict(back, from: path)
        for ((_, a), (_, b)) in zip(model.stateDict, back.stateDict) { XCTAssertEqual(a.value.scalars, b.value.scalars) }
        let loose = Mask(["fc1.weight": .ones([4, 8])])
        XCTAssertThrowsError(try exportNM(model, mask: loose, pattern: pattern, to: path))
    }
}
