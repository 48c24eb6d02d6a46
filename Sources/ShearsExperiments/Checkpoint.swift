import Foundation
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// The early-stop record: the best validation accuracy so far, when, and the test accuracy then.
public struct BestRecord: Equatable, Sendable {
    public var validationAccuracy = -Double.infinity
    public var iteration = 0
    public var testAccuracy = Double.nan
    public init() {}
    public init(validationAccuracy: Double, iteration: Int, testAccuracy: Double) {
        self.validationAccuracy = validationAccuracy; self.iteration = iteration; self.testAccuracy = testAccuracy
    }
}

/// Where one training stands: the iteration within it, the training time so far and the early-stop record.
public struct LoopPosition: Equatable, Sendable {
    public var iteration = 0
    public var seconds = 0.0
    public var best = BestRecord()
    /// `--sparse-kernels`: the layers this training runs on the sparse kernels, for the mask it was chosen for.
    public var sparseKernels: SparseKernelChoice? = nil
    public init(iteration: Int = 0) { self.iteration = iteration }
}

/// What a protocol adds to the checkpoint besides weights, optimizer and loop position: named tensors (`mask/…`,
/// `rewind/…`, `best/…`) and named fields (cycle, megabatch, phase, …) in the metadata.
public struct ProtocolState {
    public var tensors: [String: Tensor] = [:]
    public var dtypes: [String: SafetensorsDType] = [:]
    public var fields: [String: String] = [:]
    public init(fields: [String: String] = [:]) { self.fields = fields }

    public mutating func add(_ mask: Mask) {
        for (key, t) in mask.checkpointEntries { tensors[key] = t.contiguous() }
    }

    /// A weight snapshot under `prefix` (`rewind/`, `best/`), with `num_batches_tracked` as I64 as PyTorch stores it.
    public mutating func add(_ snapshot: WeightSnapshot?, prefix: String) {
        fields["has_" + prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))] = snapshot == nil ? "0" : "1"
        guard let snapshot else { return }
        for (name, t) in snapshot.entries {
            tensors[prefix + name] = t.contiguous()
            if name.hasSuffix("num_batches_tracked") { dtypes[prefix + name] = .I64 }
        }
    }
}

/// The one checkpoint scheme of every training: `checkpoint.safetensors` holds the model's state_dict under its
/// PyTorch names (so `safetensors.torch.load_file` + `load_state_dict(strict=False)` reads it), the optimizer state
/// under `optimizer/…`, the protocol's tensors under their prefixes, and in the metadata the loop position
/// (`iteration`, `training_seconds`, the early-stop record) and the protocol's fields. Written atomically.
public enum Checkpoint {
    public static let fileName = "checkpoint.safetensors"

    public static func save(to path: String, model: any Layer, optimizer: (any Optimizer)?, position: LoopPosition,
                            state: ProtocolState = ProtocolState()) throws {
        var (tensors, dtypes) = stateDictTensors(model)
        for (key, t) in optimizer?.state ?? [:] { tensors["optimizer/\(key)"] = t.contiguous() }
        tensors.merge(state.tensors) { _, b in b }
        dtypes.merge(state.dtypes) { _, b in b }
        var metadata = state.fields
        metadata["format"] = "pt"
        metadata["iteration"] = String(position.iteration)
        metadata["training_seconds"] = String(position.seconds)
        metadata["best_validation_accuracy"] = String(position.best.validationAccuracy)
        metadata["best_iteration"] = String(position.best.iteration)
        metadata["test_accuracy_at_best_validation"] = String(position.best.testAccuracy)
        if let sparse = position.sparseKernels {
            metadata["sparse_kernels_mask"] = sparse.maskDigest
            metadata["sparse_kernels_layers"] = sparse.layers.joined(separator: ",")
        }
        try SafetensorsFile.write(path: path, tensors: tensors, dtypes: dtypes, metadata: metadata)
    }

    /// The model's state_dict as checkpoint tensors (`num_batches_tracked` as I64).
    public static func stateDictTensors(_ model: any Layer) -> ([String: Tensor], [String: SafetensorsDType]) {
        var tensors: [String: Tensor] = [:], dtypes: [String: SafetensorsDType] = [:]
        for (name, v) in model.stateDict {
            tensors[name] = v.value.contiguous()
            if name.hasSuffix("num_batches_tracked") { dtypes[name] = .I64 }
        }
        return (tensors, dtypes)
    }

    /// A checkpoint read back: the model state is restored by `load`; the rest is asked for by name.
    public struct Loaded {
        public let path: String
        public let file: SafetensorsFile
        public let position: LoopPosition

        /// A protocol field; its absence is an error naming the checkpoint and the field.
        public func field(_ key: String) throws -> String {
            guard let v = file.metadata[key] else { throw TrainingError("checkpoint \(path) lacks the metadata entry '\(key)'") }
            return v
        }

        public func int(_ key: String) throws -> Int {
            guard let v = Int(try field(key)) else { throw TrainingError("checkpoint \(path): '\(key)' is not an integer") }
            return v
        }

        /// Loads the optimizer state (entries `optimizer/…`) into `optimizer`.
        public func restore(_ optimizer: inout any Optimizer) throws {
            var state: [String: Tensor] = [:]
            for (k, t) in file.tensors where k.hasPrefix("optimizer/") { state[String(k.dropFirst("optimizer/".count))] = t }
            try optimizer.loadState(state)
        }

        /// The mask; it must cover exactly the tensors of `expected` and fit `model`.
        public func mask(like expected: Mask, model: any Layer) throws -> Mask {
            let m = try Mask(checkpointEntries: file.tensors)
            guard Set(m.names) == Set(expected.names) else {
                throw TrainingError("checkpoint \(path): its mask covers \(m.names.sorted()), the run prunes \(expected.names.sorted())")
            }
            try m.validate(against: model.namedParameters)
            return m
        }

        /// The snapshot saved under `prefix` for every state_dict entry of `model`, or nil when none was saved.
        public func snapshot(prefix: String, model: any Layer) throws -> WeightSnapshot? {
            guard try field("has_" + prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))) == "1" else { return nil }
            return WeightSnapshot(entries: try model.stateDict.map { name, _ in
                guard let t = file.tensors[prefix + name] else { throw TrainingError("checkpoint \(path) lacks \(prefix + name)") }
                return (name, t)
            })
        }
    }

    /// Reads `path`, restores the model's state_dict from it (all or nothing) and returns the rest.
    public static func load(_ path: String, into model: any Layer) throws -> Loaded {
        let file = try SafetensorsFile.read(path: path)
        try restoreModelState(model, from: file, path: path)
        guard let it = file.metadata["iteration"].flatMap(Int.init) else {
            throw TrainingError("checkpoint \(path) lacks its iteration: it was not written by this version of Shears")
        }
        var p = LoopPosition(iteration: it)
        p.seconds = file.metadata["training_seconds"].flatMap(Double.init) ?? 0
        p.best = BestRecord(validationAccuracy: file.metadata["best_validation_accuracy"].flatMap(Double.init) ?? -.infinity,
                            iteration: file.metadata["best_iteration"].flatMap(Int.init) ?? 0,
                            testAccuracy: file.metadata["test_accuracy_at_best_validation"].flatMap(Double.init) ?? .nan)
        if let digest = file.metadata["sparse_kernels_mask"], let layers = file.metadata["sparse_kernels_layers"] {
            p.sparseKernels = SparseKernelChoice(maskDigest: digest, layers: layers.split(separator: ",").map(String.init))
        }
        return Loaded(path: path, file: file, position: p)
    }

    /// Loads every state_dict entry of `model` from `file`; all missing or mis-shaped entries are listed in one error
    /// and nothing is changed unless all of them fit.
    public static func restoreModelState(_ model: any Layer, from file: SafetensorsFile, path: String) throws {
        var problems: [String] = []
        for (name, v) in model.stateDict {
            guard let t = file.tensors[name] else { problems.append("missing \(name)"); continue }
            if t.shape != v.value.shape { problems.append("\(name): shape \(t.shape) in the checkpoint, \(v.value.shape) in the model") }
        }
        guard problems.isEmpty else {
            throw TrainingError("checkpoint \(path) does not match the model: " + problems.joined(separator: "; "))
        }
        for (name, v) in model.stateDict { v.value = file.tensors[name]! }
    }

    /// Drops metric rows logged after `step` (a run killed between its log line and its checkpoint), NaN rows kept.
    public static func truncateMetrics(in run: RunDirectory, after step: Int) throws { try run.truncateMetrics(after: step) }
}
