import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsNN
import ShearsPrune

enum StructuredDefaults: TrainingDefaults {
    static var training: TrainingConfig { StructuredPruningConfig().training }
    static var lengthUnit: String { "" }
}

/// `shears prune structured`: remove whole channels through the model's dependency groups, fine-tune, and write
/// the compacted dense model (widths in its metadata), its masked twin and a summary.
struct PruneStructured: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "structured",
        abstract: "Structured (channel) pruning through dependency groups, then compaction into a smaller dense model.")

    @Option(help: "Model.") var model: ModelName = .resnet20
    @OptionGroup(title: "Data") var data: DataFlags<StructuredDefaults>
    @Option(help: "Channel criterion: \(CriterionRegistry.channelHelpText).") var criterion: String = "l1"
    @Option(help: "How the scores of a group's members combine into the group's.") var aggregation: GroupAggregation = .sum
    @Option(help: "How each group's scores are scaled before a global ranking (none: raw scores; mean: Torch-Pruning's default). Layerwise allocation is unchanged by it.")
    var normalize: GroupNormalization = .mean
    @Option(help: "Fraction of the prunable channels removed, in (0, 1).") var channelRatio: Double = 0.5
    @Option(help: "global (one ranking of all channels) or layerwise (the ratio in every group).") var allocation: ChannelAllocation = .global
    @Option(help: "Keep every group's width a multiple of this (e.g. 8).") var roundTo: Int = 1
    @Option(help: "When channels go: all at once (oneshot), in --steps steps each followed by fine-tuning (iterative), or in --steps steps spread over the fine-tuning (gradual).")
    var schedule: StructuredSchedule = .oneshot
    @Option(help: "Pruning steps of the iterative and gradual schedules.") var steps: Int = 3
    @Option(help: "iterative: after each round the kept weights train on from the round before (finetune) or from the starting model's values (rewind).")
    var retrain: StructuredRetrain = .finetune
    @Option(help: "Fine-tuning epochs (per step for iterative; in total otherwise).") var finetuneEpochs: Int = 1
    @Option(help: "Batches whose gradients the taylor criterion accumulates (and the scoring batches of gradient, snip, grasp).") var taylorBatches: Int = 4
    @Option(help: "λ of network slimming's L1 penalty on batch-norm γ during fine-tuning (0: off).") var bnPenalty: Float = 0
    @Option(name: .customLong("from"), help: "Start from this model.safetensors (or a run directory holding one); a compacted model's widths are read from its metadata.")
    var from: String?
    @Option(help: "Fine-tuning mini-batch size.") var batchSize: Int = 64
    @Option(help: "Fine-tuning learning rate (constant).") var lr: Float = 0.01
    @Option(help: "Momentum (SGD).") var momentum: Float = 0.9
    @Option(help: "L2 weight decay.") var weightDecay: Float = 0
    @Option(help: "Seed (initialisation when there is no --from, data order, split).") var seed: UInt64 = 0
    @Flag(help: "Print the dependency groups and stop.") var explain = false
    @Option(help: "Output directory (model.safetensors, masked.safetensors, summary.json).") var out: String?
    @Option(help: "Threads for the kernels.") var threads: Int = 2

    func makeConfig() throws -> StructuredPruningConfig {
        var c = StructuredPruningConfig()
        data.apply(to: &c.training)
        c.training.model = model.withAbsolutePath
        c.training.batchSize = batchSize; c.training.lr = lr; c.training.momentum = momentum
        c.training.weightDecay = weightDecay; c.training.seed = seed
        c.criterion = criterion; c.aggregation = aggregation; c.normalization = normalize; c.channelRatio = channelRatio; c.allocation = allocation
        c.roundTo = roundTo; c.schedule = schedule; c.steps = steps; c.retrain = retrain == .finetune ? nil : retrain; c.finetuneEpochs = finetuneEpochs
        c.taylorBatches = taylorBatches; c.batchNormPenalty = bnPenalty; c.from = from
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        return c
    }

    func validate() throws {
        let c = try makeConfig()
        if !explain && out == nil { throw ValidationError("--out DIR is required (where the compacted model goes)") }
        _ = c
    }

    func run() throws {
        let config = try makeConfig()
        if explain {
            let data = try prepareData(config.training)
            let m = try StructuredPruning.startingModel(config, data: data)
            print(StructuredPruning.explain(try dependencyGroups(of: m, inputShape: data.train.imageShape)))
            return
        }
        _ = try StructuredPruning.run(config, directory: out!, threads: threads) { print($0) }
    }
}
