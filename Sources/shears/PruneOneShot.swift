import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsPrune

enum OneShotDefaults: TrainingDefaults {
    static var training: TrainingConfig { OneShotConfig().training }
    static var lengthUnit: String { " (unused: --finetune-epochs sets the length)" }
}

/// `shears prune oneshot`: prune a model you already have once, optionally fine-tune, evaluate.
struct PruneOneShot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oneshot",
        abstract: "Prune a trained model once by any criterion (or a fresh one, --at-init), optionally fine-tune with the mask fixed.",
        discussion: """
        --from takes a run directory (its model.safetensors, and its config.json for the model and data) or a \
        model file (then name --model and --dataset). Writes model.safetensors, mask.safetensors and summary.json \
        (test accuracy before, right after pruning and after fine-tuning, on the split named there); re-running \
        resumes the fine-tuning.
        """)

    @Option(help: "The trained model: a run directory or a safetensors state dict (dense, bitmask or CSR).") var from: String?
    @Option(help: "Fraction of the prunable weights removed, in (0, 1) (default: 0.9).") var sparsity: Double?
    @Option(help: ArgumentHelp("N:M semi-structured sparsity instead of --sparsity: in every M consecutive inputs of a weight the N best by the criterion are kept (2:4, 1:4, 4:8); weights whose inputs are not a multiple of M stay dense.", valueName: "N:M"))
    var nm: String?
    @Option(help: ArgumentHelp("Criterion: \(CriterionRegistry.helpText).", valueName: "criterion"))
    var criterion: String = "magnitude"
    @Option(help: ArgumentHelp("Allocation of the pruned weights across layers.")) var allocation: Allocation = .global
    @Option(help: "Training batches the data-driven criteria score on.") var scoringBatches: Int = 1
    @Flag(help: "Prune a freshly initialised model (SNIP, GraSP, SynFlow's setting) and train it for --finetune-epochs.") var atInit = false
    @Option(help: "SynFlow at initialisation: rounds of Algorithm 1.") var synflowRounds: Int = 100
    @Option(help: "Epochs of training with the mask fixed after pruning.") var finetuneEpochs: Int = 0
    @Option(help: ArgumentHelp("The kept weights' initial scale: dense (the dense initialisation's) or fan-in (each unit's rescaled by √(dense fan-in / kept fan-in), Evci et al. 2022)."))
    var sparseInit: SparseInitialisation = .dense
    @Flag(help: "Do not prune the first layer.") var keepFirstLayer = false
    @Flag(help: "Do not prune the last layer.") var keepLastLayer = false
    @OptionGroup(title: "Data") var data: DataFlags<OneShotDefaults>
    @OptionGroup(title: "Model and fine-tuning") var training: TrainingFlags<OneShotDefaults>
    @OptionGroup(title: "Run") var execution: RunOptions

    func makeConfig() throws -> OneShotConfig {
        try validated({
            var c = OneShotConfig()
            if let from { (c.training, c.training.initFrom) = try Self.source(from) }
            c.training.epochs = 1; c.training.iterations = nil   // one epoch per length unit; --finetune-epochs counts them
            data.apply(to: &c.training)
            try training.apply(to: &c.training)
            if let nm {
                if sparsity != nil { throw ValidationError("--nm \(nm) sets the sparsity (1 − N/M): drop --sparsity") }
                do { c.nm = try NMPattern(parsing: nm) } catch { throw ValidationError("--nm: \(error)") }
            }
            c.sparsity = sparsity ?? c.sparsity; c.criterion = criterion; c.allocation = allocation; c.scoringBatches = scoringBatches
            c.atInit = atInit; c.synflowRounds = synflowRounds; c.finetuneEpochs = finetuneEpochs; c.sparseInit = sparseInit == .dense ? nil : sparseInit
            c.selection = PrunableSelection(includeFirstLayer: !keepFirstLayer, includeLastLayer: !keepLastLayer)
            return c
        }) { try $0.validate() }
    }

    /// The training config and model file of `--from`: a run directory (its config.json or training_config.json, and
    /// model.safetensors) or a model file with the defaults.
    static func source(_ from: String) throws -> (TrainingConfig, String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: from, isDirectory: &isDirectory) else {
            throw ValidationError("\(from): no such file or directory; expected a run directory or a model.safetensors")
        }
        let path = URL(fileURLWithPath: from).standardizedFileURL.path
        guard isDirectory.boolValue else { return (OneShotConfig().training, path) }
        let run = try RunDirectory(path: path)
        let model = run.path("model.safetensors")
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("\(from) holds no model.safetensors; name the model file itself (e.g. \(from)/cycle_3/model.safetensors)")
        }
        // A `train` run's config.json is the training config itself; every protocol's (prune oneshot, dynamic, …) holds
        // it as its "training" field.
        struct ProtocolConfig: Decodable { var training: TrainingConfig }
        struct StructuredSummary: Decodable { var config: ProtocolConfig }   // prune structured's summary.json
        for file in ["config.json", "training_config.json"] {
            if let c = try? run.readJSON(TrainingConfig.self, from: file) { return (c, model) }
            if let c = try? run.readJSON(ProtocolConfig.self, from: file) { return (c.training, model) }
        }
        if var c = (try? run.readJSON(StructuredSummary.self, from: "summary.json"))??.config.training {
            // A compacted ONNX graph is the run's own model.onnx, not the graph it was pruned from.
            if c.model.onnxPath != nil, run.fileExists("model.onnx") { c.model = ModelName(onnxPath: run.path("model.onnx")) }
            return (c, model)
        }
        throw ValidationError("\(from): its config.json is not a training run's; pass the model file and --model/--dataset")
    }

    func validate() throws { _ = try makeConfig() }

    func run() throws {
        let config = try makeConfig()
        try execution.launch(prefix: "oneshot", nonDefault: config.nonDefaultFields) { dir, options in
            _ = try OneShotPruning.run(config, in: dir, options: options)
        }
    }
}
