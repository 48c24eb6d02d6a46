import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsNN
import ShearsOptim

extension ModelName: ExpressibleByArgument {
    /// An ONNX file by its absolute path, like --init: a run resumes from any working directory.
    var withAbsolutePath: ModelName {
        onnxPath.map { ModelName(onnxPath: URL(fileURLWithPath: $0).standardizedFileURL.path) } ?? self
    }
}

/// A training command's defaults: the training part of its protocol config's `init()`. Each command keeps its own
/// (the split is pooled for S-Cyc's protocol, APP trains 50 epochs of batch 64 with momentum, …) while the flags are
/// declared once, in `DataFlags` and `TrainingFlags`.
protocol TrainingDefaults {
    static var training: TrainingConfig { get }
    /// What one training is, for the help of --epochs / --iterations ("per cycle", "per megabatch").
    static var lengthUnit: String { get }
}

enum PlainTrainingDefaults: TrainingDefaults {
    static var training: TrainingConfig { TrainingConfig() }
    static var lengthUnit: String { "" }
}

enum IterativePruningDefaults: TrainingDefaults {
    static var training: TrainingConfig { IterativePruningConfig().training }
    static var lengthUnit: String { " per cycle" }
}

/// The oracle trains every trial on the warmup shape (ramp --warmup, drops --drops) with the trial's peak and reports
/// S-Cyc's max_lr (--l-min, --l-amp, --q, --beta) beside it: `scyc`, the schedule that takes all of these flags, is
/// its default, so the protocol's flags work without naming a schedule.
enum OracleDefaults: TrainingDefaults {
    static var training: TrainingConfig {
        var t = IterativePruningConfig().training
        t.schedule = ScheduleSpec(SCycSchedule.scheduleName)
        return t
    }
    static var lengthUnit: String { " per cycle" }
}

enum DirectionalPruningDefaults: TrainingDefaults {
    static var training: TrainingConfig { DirectionalPruningConfig().training }
    static var lengthUnit: String { " of each phase" }
}

enum AnytimeDefaults: TrainingDefaults {
    static var training: TrainingConfig { AnytimeConfig().training }
    static var lengthUnit: String { " per megabatch (E)" }
}

/// Which data a run trains and evaluates on.
struct DataFlags<D: TrainingDefaults>: ParsableArguments {
    @Option(help: ArgumentHelp("Dataset (default: \(D.training.dataset.rawValue)); npz, folder and tiny-imagenet are your own (docs/datasets.md)."))
    var dataset: DatasetKind?
    @Option(help: "Directory with the dataset's files (MNIST is embedded and needs none).") var dataDir: String?
    @Option(help: ArgumentHelp("official: the dataset's train/test files with a seeded validation hold-out from train; pooled: "
                               + "S-Cyc's 60/20/20 cut of train ∪ test (default: \(D.training.split.rawValue))."))
    var split: SplitKind?
    @Option(help: "Training examples held out for validation with the official split (default: \(D.training.validation)).") var validation: Int?
    @Option(help: "Train on the first N training examples only.") var trainSubset: Int?
    @Flag(help: "CIFAR augmentation: random crop with padding 4 and horizontal flip.") var augment = false
    @Flag(help: "Do not normalise inputs per channel.") var noNormalize = false
    @Option(help: "Zero-pad every image by N pixels on each side (2: MNIST's 28×28 → 32×32, which VGG's five pools need).") var pad: Int?
    @OptionGroup var external: ExternalDataFlags

    func apply(to t: inout TrainingConfig) {
        if let dataset { t.dataset = dataset }
        if let dataDir { t.dataDir = URL(fileURLWithPath: dataDir).standardizedFileURL.path }
        if let split { t.split = split }
        if let validation { t.validation = validation }
        if let trainSubset { t.trainSubset = trainSubset }
        if augment { t.augment = true }
        if noNormalize { t.normalize = false }
        if let pad { t.pad = pad }
        if let p = external.dataPath { t.dataPath = URL(fileURLWithPath: p).standardizedFileURL.path }
        if external.options != ExternalDataOptions() { t.external = external.options }
    }
}

/// The model and how it is trained: length, batch, optimizer, learning-rate schedule, seed, evaluation period.
struct TrainingFlags<D: TrainingDefaults>: ParsableArguments {
    @Option(help: ArgumentHelp("Model: a zoo name, or onnx:PATH for your own network from an ONNX file (docs/interop.md) (default: \(D.training.model.rawValue))."))
    var model: ModelName?
    @Option(name: .customLong("init"), help: "Start from these weights (a safetensors state dict, dense, bitmask or CSR).") var initFrom: String?
    @Option(help: "Training length\(D.lengthUnit) in epochs (default: \(D.training.epochs.map(String.init) ?? "–") unless --iterations is given).")
    var epochs: Int?
    @Option(help: "Training length\(D.lengthUnit) in iterations.") var iterations: Int?
    @Option(help: "Mini-batch size (default: \(D.training.batchSize)).") var batchSize: Int?
    @Option(help: ArgumentHelp("Optimizer (default: \(D.training.optimizer.rawValue)).")) var optimizer: OptimizerKind?
    @Option(help: "Base learning rate: the constant rate, a schedule's start or peak (default: \(D.training.lr)).") var lr: Float?
    @Option(help: "Momentum of SGD or RMSprop (default: \(D.training.momentum)).") var momentum: Float?
    @Flag(help: "Nesterov momentum (SGD).") var nesterov = false
    @Option(help: "L2 weight decay (default: \(D.training.weightDecay)).") var weightDecay: Float?
    @Option(name: [.customLong("schedule"), .customLong("lr-schedule")],
            help: ArgumentHelp("LR schedule, NAME or NAME:key=value,… (default: \(D.training.schedule)). Names: \(ScheduleRegistry.names.joined(separator: ", ")).",
                               valueName: "schedule"))
    var schedule: String?
    @Option(help: "multistep: when the rate is multiplied by --gamma, comma-separated (e.g. 80ep,120ep).") var milestones: String?
    @Option(help: "step: the period (e.g. 30ep); cyclical: the half period c.") var stepSize: String?
    @Option(help: "step / multistep: the decay factor (default 0.1).") var gamma: Double?
    @Option(help: "warmup / scyc: the ramp length b (e.g. 440 or 2ep).") var warmup: String?
    @Option(help: "warmup / scyc: the 10× drops c, d, e, comma-separated.") var drops: String?
    @Option(help: "warmup: the peak (default --lr).") var peak: Double?
    @Option(help: "scyc: l_min (default 0.03).") var lMin: Double?
    @Option(help: "scyc: l_amp, the paper's l_max added to l_min (default 0.04).") var lAmp: Double?
    @Option(help: "scyc: q, the No-Growth cycles (default 1).") var q: Int?
    @Option(help: "scyc: β (default 5).") var beta: Double?
    @Option(help: "cyclical: the lower rate a (default 0.001).") var cyclicLower: Double?
    @Option(help: "cyclical: the upper rate b (default 0.1).") var cyclicUpper: Double?
    @Option(help: "cyclical: the half period c in iterations (default 1000).") var cyclicStep: Int?
    @Option(help: "drop: when the rate drops (e.g. 8ep, 4000it).") var dropAt: String?
    @Option(help: "drop: the factor of the drop (default 0.1).") var dropFactor: Double?
    @Option(help: "Seed of every random choice: init, split, data order (default: \(D.training.seed)).") var seed: UInt64?
    @Option(help: "Evaluate and checkpoint every this many steps, e.g. 1ep, 500it (default: \(D.training.evalEvery)).") var evalEvery: String?

    /// The command's training config: its defaults with every given flag applied.
    func apply(to t: inout TrainingConfig) throws {
        if let model { t.model = model.withAbsolutePath }
        if let initFrom { t.initFrom = URL(fileURLWithPath: initFrom).standardizedFileURL.path }
        if epochs != nil || iterations != nil { t.epochs = epochs; t.iterations = iterations }
        if let batchSize { t.batchSize = batchSize }
        if let optimizer { t.optimizer = optimizer }
        if let lr { t.lr = lr }
        if let momentum { t.momentum = momentum }
        if nesterov { t.nesterov = true }
        if let weightDecay { t.weightDecay = weightDecay }
        if let seed { t.seed = seed }
        if let evalEvery { t.evalEvery = try parseStep(evalEvery, flag: "--eval-every") }
        t.schedule = try scheduleSpec(base: t.schedule)
    }

    /// `--schedule` (or the default's) with the parameters the convenience flags give.
    func scheduleSpec(base: ScheduleSpec) throws -> ScheduleSpec {
        var spec: ScheduleSpec
        do { spec = try schedule.map { try ScheduleSpec(parsing: $0) } ?? base } catch let e as ScheduleError {
            throw ValidationError("--schedule: \(e.description)")
        }
        func steps(_ text: String?, _ key: String, _ flag: String) throws {
            guard let text else { return }
            if text.lowercased() == "none" {
                spec.parameters[key] = nil
                // APP's "--milestones none": a constant rate.
                if key == "milestones", schedule == nil, spec.name == MultiStepLR.scheduleName { spec = .constant }
                return
            }
            spec.parameters[key] = .steps(try text.split(separator: ",").map { try parseStep(String($0), flag: flag) })
        }
        func number(_ v: Double?, _ key: String) { if let v { spec.parameters[key] = .number(v) } }
        try steps(milestones, "milestones", "--milestones")
        try steps(stepSize, "step_size", "--step-size")
        try steps(warmup, "warmup", "--warmup")
        try steps(drops, "drops", "--drops")
        try steps(dropAt, "drop_at", "--drop-at")
        if let cyclicStep { spec.parameters["step_size"] = .number(Double(cyclicStep)) }
        number(gamma, "gamma"); number(peak, "peak"); number(lMin, "l_min"); number(lAmp, "l_amp"); number(q.map(Double.init), "q")
        number(beta, "beta"); number(cyclicLower, "lower"); number(cyclicUpper, "upper"); number(dropFactor, "drop_factor")
        // A flag of another schedule is a mistake to name, not to ignore.
        if let t = try? ScheduleRegistry.type(named: spec.name) {
            let known = Set(t.parameterHelp.map(\.key))
            if let bad = spec.parameters.keys.sorted().first(where: { !known.contains($0) }) {
                throw ValidationError("--schedule \(spec.name) takes no \(Self.flag(for: bad)); it takes "
                    + (known.isEmpty ? "no parameters" : known.sorted().map(Self.flag).joined(separator: ", ")))
            }
        }
        return spec
    }

    /// The flag that sets a schedule parameter.
    static func flag(for key: String) -> String {
        let map = ["milestones": "--milestones", "step_size": "--step-size (--cyclic-step)", "gamma": "--gamma", "warmup": "--warmup",
                   "drops": "--drops", "peak": "--peak", "l_min": "--l-min", "l_amp": "--l-amp", "q": "--q", "beta": "--beta",
                   "lower": "--cyclic-lower", "upper": "--cyclic-upper", "drop_at": "--drop-at", "drop_factor": "--drop-factor"]
        return map[key] ?? key
    }
}

/// Runs a config's `validate()` and turns its message into the parser's usage error.
func validated<T>(_ make: () throws -> T, _ check: (T) throws -> Void) throws -> T {
    let c = try make()
    do { try check(c) } catch let e as TrainingError { throw ValidationError(e.description) }
    return c
}
