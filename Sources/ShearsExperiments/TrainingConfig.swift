import Foundation
import ShearsData
import ShearsNN
import ShearsOptim

/// Every hyperparameter of a plain training run, one typed field per flag of `shears train`. Its JSON is the
/// run directory's `config.json`; the fields that differ from `TrainingConfig()` name the directory.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var model: ModelName = .lenet300100
    public var dataset: DatasetKind = .mnist
    /// official: the dataset's train/test files plus a seeded validation hold-out from train;
    /// pooled: S-Cyc's split, train and test pooled and cut 60/20/20 into train/validation/test.
    public var split: SplitKind = .official
    /// Where the dataset's files are; nil means the MNIST embedded in the repository.
    public var dataDir: String? = nil
    /// `--dataset npz`: the .npz file (or a directory of .npy files).
    public var dataPath: String? = nil
    /// Your own data (npz, folder, tiny-imagenet): image size, layout, classes, split; nil: the defaults.
    public var external: ExternalDataOptions? = nil
    /// Length of training: exactly one of these is set (epochs by default).
    public var epochs: Int? = 10
    public var iterations: Int? = nil
    public var batchSize: Int = 60
    public var optimizer: OptimizerKind = .sgd
    public var lr: Float = 0.1
    public var momentum: Float = 0
    public var nesterov: Bool = false
    public var weightDecay: Float = 0
    /// The learning-rate schedule (`ScheduleRegistry`): for plain training over the whole run, for iterative pruning
    /// per cycle (restarted every cycle), for APP per megabatch.
    public var schedule: ScheduleSpec = .constant
    public var seed: UInt64 = 0
    /// Training examples held out (seeded) for validation; the early-stop test accuracy is read at the best
    /// validation accuracy.
    public var validation: Int = 5000
    /// Train on only the first N examples (after the hold-out), for quick runs.
    public var trainSubset: Int? = nil
    public var evalEvery: StepSpec = StepSpec(1, .epochs)
    /// Zero padding added to every image on each side (MNIST 28×28 → 32×32 with 2); nil: none.
    public var pad: Int? = nil
    /// Random crop (padding 4) and horizontal flip, as for CIFAR.
    public var augment: Bool = false
    /// Per-channel normalisation with the training set's mean and std.
    public var normalize: Bool = true
    /// Initial weights (a safetensors state_dict).
    public var initFrom: String? = nil

    public init() {}

    /// The hyperparameters that differ from the defaults, as flag-like `key=value` strings (the run's name).
    public var nonDefaultFields: [String: String] {
        let mine = Self.flatten(self), defaults = Self.flatten(TrainingConfig())
        return mine.filter { defaults[$0.key] != $0.value }
    }

    static func flatten(_ c: TrainingConfig) -> [String: String] {
        var out = jsonFields(c)
        out["schedule"] = c.schedule.description
        // Absent optionals must differ from present ones.
        for key in ["dataDir", "epochs", "iterations", "trainSubset", "initFrom", "pad"] where out[key] == nil { out[key] = "null" }
        return out
    }

    /// Checks the combination of values; the message names the flag and what was expected.
    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        if (epochs == nil) == (iterations == nil) { try fail("give exactly one of --epochs and --iterations") }
        // Bounds that keep every product of counts (epochs × batches, steps × epoch length) far from overflow.
        if let e = epochs, !(1...1_000_000).contains(e) { try fail("--epochs must be between 1 and 1000000, got \(e)") }
        if let i = iterations, !(1...1_000_000_000).contains(i) { try fail("--iterations must be between 1 and 10⁹, got \(i)") }
        if !(1...1_000_000).contains(batchSize) { try fail("--batch-size must be between 1 and 1000000, got \(batchSize)") }
        if !(lr > 0) || !lr.isFinite { try fail("--lr must be a positive finite number, got \(lr)") }
        if !(momentum >= 0 && momentum < 1) { try fail("--momentum must be in [0, 1), got \(momentum)") }
        if !(weightDecay >= 0) || !weightDecay.isFinite { try fail("--weight-decay must be a finite number ≥ 0, got \(weightDecay)") }
        if nesterov && (optimizer != .sgd || momentum == 0) { try fail("--nesterov needs --optimizer sgd and a positive --momentum") }
        if optimizer == .adam && momentum != 0 { try fail("--momentum is not used by --optimizer adam (its betas are fixed at 0.9, 0.999); drop it") }
        if !(0...1_000_000_000).contains(validation) { try fail("--validation must be between 0 and 10⁹, got \(validation)") }
        if let n = trainSubset, !(1...1_000_000_000).contains(n) { try fail("--train-subset must be between 1 and 10⁹, got \(n)") }
        if let p = pad, !(0...256).contains(p) { try fail("--pad must be between 0 and 256 pixels, got \(p)") }
        if !(1...1_000_000_000).contains(evalEvery.value) { try fail("--eval-every must be between 1 and 10⁹ steps, got \(evalEvery)") }
        do { try ScheduleRegistry.validate(schedule, baseLR: lr) } catch let e as ScheduleError { try fail("--schedule: \(e.description)") }
        if dataset == .npz && dataPath == nil && dataDir == nil {
            try fail("--dataset npz needs --data-path FILE.npz (or a directory of x_train.npy, y_train.npy, x_test.npy, y_test.npy)")
        } else if dataset != .mnist && dataset != .synthetic && dataset != .npz && dataDir == nil {
            try fail("--dataset \(dataset.rawValue) needs --data-dir pointing at your download (only MNIST is embedded)")
        }
        if dataPath != nil && dataset != .npz { try fail("--data-path is for --dataset npz; use --data-dir for \(dataset.rawValue)") }
        do { try external?.validate() } catch let e as DataError { try fail(e.description) }
    }
}

/// A protocol's configuration: its own fields around the training config of its trainings. Its JSON is the run
/// directory's `config.json`; the fields that differ from `Self()` name the directory.
public protocol RunConfiguration: Codable, Equatable {
    var training: TrainingConfig { get }
    init()
}

extension RunConfiguration {
    /// The fields that differ from `Self()` as `key=value` strings: the training's (against the protocol's own
    /// training defaults, e.g. the pooled split of S-Cyc) and its own; an absent optional that is set by default reads
    /// `null`.
    public var nonDefaultFields: [String: String] {
        let defaults = Self()
        var out: [String: String] = [:]
        for (mine, theirs) in [(TrainingConfig.flatten(training), TrainingConfig.flatten(defaults.training)),
                               (jsonFields(self, excluding: ["training"]), jsonFields(defaults, excluding: ["training"]))] {
            for (k, v) in mine where theirs[k] != v { out[k] = v }
            for k in theirs.keys where mine[k] == nil { out[k] = "null" }
        }
        return out
    }
}

public enum SplitKind: String, Codable, CaseIterable, Sendable { case official, pooled }

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The top-level fields of `value`'s JSON as strings, without those in `excluding` — what run names are made of.
/// Strings stay unquoted ("schedule=cosine"); anything else is its sorted JSON. Absent optionals are absent.
func jsonFields<T: Encodable>(_ value: T, excluding: Set<String> = []) -> [String: String] {
    guard let data = try? JSONEncoder.sorted.encode(value),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
    var out: [String: String] = [:]
    for (k, v) in object where !excluding.contains(k) {
        if let text = v as? String { out[k] = text; continue }
        if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
            out[k] = String(decoding: d, as: UTF8.self)
        }
    }
    return out
}

/// The training loss became NaN or infinite (thrown by `TrainLoop.standardStep`; the message names the step and what to try).
public struct LossDiverged: Error, CustomStringConvertible {
    public let loss: Float
    public let description: String
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }
}
