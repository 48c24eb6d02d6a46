import ArgumentParser
import Foundation
import ShearsIO
import ShearsNN
import ShearsPrune
import ShearsTensor

/// `shears bench structured`: the original model against its structured compaction (L1 filter norm, one shot,
/// no fine-tuning: speed does not depend on the weights' values), at one batch size. Prints one JSON line with
/// parameters, MACs and img/s of both, timed interleaved (median of `--iterations` rounds), and the compacted
/// widths; `--save DIR` writes the compacted state dict (widths in its metadata), `widths.json` and the seeded
/// original (`original.safetensors`) for the PyTorch peers. The compacted model's outputs must match the masked original's (1e-4 of the output scale).
struct BenchStructured: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "structured",
        abstract: "Original vs structurally compacted model: parameters, MACs, img/s; one JSON line.")

    @Option(help: "Model.") var model: ModelName
    @Option(help: "Fraction of the prunable channels removed, in (0, 1).") var channelRatio: Double = 0.5
    @Option(help: "global or layerwise.") var allocation: ChannelAllocation = .global
    @Option(help: "How each group's scores are scaled before a global ranking (as prune structured's --normalize).")
    var normalize: GroupNormalization = .mean
    @Option(help: "Keep every width a multiple of this.") var roundTo: Int = 1
    @Option(help: "Images per forward.") var batchSize: Int = 1
    @Option(help: "Threads for the kernels.") var threads: Int = 2
    @Option(help: "Timed forwards per side.") var iterations: Int = 20
    @Option(help: "Seed for the weights and the input batch.") var seed: UInt64 = 0
    @Option(help: "Write the compacted model.safetensors, widths.json and the original (original.safetensors) here.") var save: String?

    func validate() throws {
        guard channelRatio > 0 && channelRatio < 1 else { throw ValidationError("--channel-ratio must be in (0, 1), got \(channelRatio)") }
        guard (1...1024).contains(roundTo) else { throw ValidationError("--round-to must be between 1 and 1024, got \(roundTo)") }
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 4096, got \(batchSize)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        guard (1...100_000).contains(iterations) else { throw ValidationError("--iterations must be between 1 and 100000, got \(iterations)") }
    }

    var inputShape: [Int] { [.lenet300100, .mlp3x256].contains(model) ? [1, 28, 28] : [3, 32, 32] }

    func run() throws {
        Threads.set(threads)
        var g = Generator(seed: seed)
        let net = try makeModel(model, inputShape: inputShape, classes: 10, generator: &g)
        let groups = try dependencyGroups(of: net, inputShape: inputShape)
        let values = Dictionary(net.namedParameters, uniquingKeysWith: { a, _ in a })
        var scores: [String: [Double]] = [:]
        for group in groups where group.prunable { scores[group.name] = try FilterNormCriterion.l1.channelScores(group, values: values) }
        let keep = try allocateChannels(groups: groups, scores: scores, ratio: channelRatio, allocation: allocation, roundTo: roundTo,
                                    normalization: normalize)
        let original = try makeModel(model, inputShape: inputShape, classes: 10, generator: &g)
        for ((_, a), (_, b)) in zip(original.stateDict, net.stateDict) { a.value = b.value }   // unmasked copy
        structuredMask(net, groups: groups, keep: keep).apply(to: net.namedParameters)
        let (small, widths) = try compact(net, name: model, inputShape: inputShape, classes: 10, groups: groups, keep: keep)
        let x = Variable(Tensor.normal([batchSize] + inputShape, generator: &g))
        let (maskedOut, smallOut) = Context.with(.inference) { GradMode.withoutGrad { (net(x).value, small(x).value) } }
        let scale = max(1, maskedOut.scalars.map(abs).max() ?? 1)
        guard maskedOut.maxAbsDifference(smallOut) <= 1e-4 * scale else {
            throw ValidationError("compacted and masked outputs differ by \(maskedOut.maxAbsDifference(smallOut)) (scale \(scale))")
        }
        let (tOriginal, tSmall) = timeInterleaved(original, small, x)
        // The same two models through their inference plans (what `shears eval` runs), interleaved likewise.
        let planOriginal = try InferencePlan(original, batchSize: batchSize, inputShape: inputShape)
        let planSmall = try InferencePlan(small, batchSize: batchSize, inputShape: inputShape)
        let (pOriginal, pSmall) = timeInterleaved({ _ = planOriginal(x.value) }, { _ = planSmall(x.value) })
        if let save { try write(small, widths: widths, original: original, to: save) }
        let macs = { (m: any Layer) in countMACs(m, inputShape: inputShape).reduce(0) { $0 + $1.macs } }
        let line: [String: Any] = [
            "model": model.rawValue, "channel_ratio": channelRatio, "round_to": roundTo, "batch_size": batchSize,
            "threads": threads, "params_original": original.parameterCount, "params_compacted": small.parameterCount,
            "macs_original": macs(original), "macs_compacted": macs(small),
            "img_s_original": Double(batchSize) / tOriginal, "img_s_compacted": Double(batchSize) / tSmall,
            "img_s_original_plan": Double(batchSize) / pOriginal, "img_s_compacted_plan": Double(batchSize) / pSmall,
            "widths": widths,
        ]
        let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Median seconds per eager forward of each model, alternating a and b every round after two warm-up rounds.
    func timeInterleaved(_ a: any Layer, _ b: any Layer, _ x: Variable) -> (Double, Double) {
        Context.with(.inference) { GradMode.withoutGrad { timeInterleaved({ _ = a(x) }, { _ = b(x) }) } }
    }

    /// Median seconds per call of `a` and `b`, alternating every round after two warm-up rounds.
    func timeInterleaved(_ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
        var ta: [Double] = [], tb: [Double] = []
        for round in 0..<(iterations + 2) {
            let t0 = monotonicSeconds(); a(); let t1 = monotonicSeconds(); b(); let t2 = monotonicSeconds()
            if round >= 2 { ta.append(t1 - t0); tb.append(t2 - t1) }
        }
        return (ta.sorted()[ta.count / 2], tb.sorted()[tb.count / 2])
    }

    func write(_ small: any Layer, widths: [String: Int], original: any Layer, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The seeded original, for a peer that prunes the same weights (bench/torch_structured.py widths).
        try saveStateDict(original, to: (dir as NSString).appendingPathComponent("original.safetensors"))
        try saveStateDict(small, to: (dir as NSString).appendingPathComponent("model.safetensors"),
                          metadata: [ModelWidthsMetadata.key: ModelWidthsMetadata.encode(widths)])
        try ModelWidthsMetadata.encode(widths).write(toFile: (dir as NSString).appendingPathComponent("widths.json"),
                                                     atomically: true, encoding: .utf8)
    }
}
