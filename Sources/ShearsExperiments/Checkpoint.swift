import Foundation
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsTensor

extension Trainer {
    /// Writes weights, buffers and optimizer state to one safetensors file, atomically. Model entries carry
    /// their PyTorch state_dict names (so `safetensors.torch.load_file` + `load_state_dict(strict=False)` reads
    /// them); optimizer entries are prefixed `optimizer/`; progress lives in the metadata.
    static func saveCheckpoint(model: any Layer, optimizer: any Optimizer, iteration: Int, best: BestRecord,
                               trainingSeconds: Double, config: TrainingConfig, to run: RunDirectory) throws {
        let (tensors, dtypes) = checkpointTensors(model: model, optimizer: optimizer)
        let metadata: [String: String] = [
            "format": "pt",
            "iteration": String(iteration),
            "best_validation_accuracy": String(best.validationAccuracy),
            "best_iteration": String(best.iteration),
            "test_accuracy_at_best_validation": String(best.testAccuracy),
            "training_seconds": String(trainingSeconds),
        ]
        try SafetensorsFile.write(path: run.checkpointPath, tensors: tensors, dtypes: dtypes, metadata: metadata)
    }

    /// Restores a checkpoint into `model` and `optimizer`; returns the iteration, early-stop record and time.
    static func restore(model: any Layer, optimizer: inout any Optimizer, from run: RunDirectory) throws -> (Int, BestRecord, Double) {
        let file = try SafetensorsFile.read(path: run.checkpointPath)
        try restoreModelState(model, from: file, path: run.checkpointPath)
        var optState: [String: Tensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix("optimizer/") { optState[String(k.dropFirst("optimizer/".count))] = t }
        try optimizer.loadState(optState)
        func meta(_ k: String) throws -> String {
            guard let v = file.metadata[k] else { throw TrainingError("checkpoint \(run.checkpointPath) lacks the metadata entry '\(k)'") }
            return v
        }
        guard let iteration = Int(try meta("iteration")) else { throw TrainingError("checkpoint \(run.checkpointPath): bad iteration") }
        let best = BestRecord(validationAccuracy: Double(try meta("best_validation_accuracy")) ?? -.infinity,
                              iteration: Int(try meta("best_iteration")) ?? 0,
                              testAccuracy: Double(try meta("test_accuracy_at_best_validation")) ?? .nan)
        return (iteration, best, Double(try meta("training_seconds")) ?? 0)
    }

    /// The entries every checkpoint holds: the model's state_dict under its PyTorch names (with
    /// `num_batches_tracked` as I64, as PyTorch stores it) and the optimizer state under `optimizer/…`.
    static func checkpointTensors(model: any Layer, optimizer: (any Optimizer)?) -> ([String: Tensor], [String: SafetensorsDType]) {
        var tensors: [String: Tensor] = [:]
        var dtypes: [String: SafetensorsDType] = [:]
        for (name, v) in model.stateDict {
            tensors[name] = v.value.contiguous()
            if name.hasSuffix("num_batches_tracked") { dtypes[name] = .I64 }
        }
        for (key, t) in optimizer?.state ?? [:] { tensors["optimizer/\(key)"] = t.contiguous() }
        return (tensors, dtypes)
    }

    /// Loads every state_dict entry of `model` from a checkpoint; all missing or mis-shaped entries are listed in
    /// one error and nothing is changed unless all of them fit.
    static func restoreModelState(_ model: any Layer, from file: SafetensorsFile, path: String) throws {
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

    /// Drops metric rows logged after `iteration` (a run killed between its log line and its checkpoint).
    static func truncateMetrics(in run: RunDirectory, after iteration: Int) throws {
        let jsonl = run.url.appendingPathComponent("metrics.jsonl")
        if let text = try? String(contentsOf: jsonl, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let step = (obj["step"] as? NSNumber)?.intValue else { return false }
                return step <= iteration
            }
            try (kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).write(to: jsonl, atomically: true, encoding: .utf8)
        }
        let csv = run.url.appendingPathComponent("metrics.csv")
        if let text = try? String(contentsOf: csv, encoding: .utf8) {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            guard !lines.isEmpty else { return }
            let header = lines.removeFirst()
            let kept = lines.filter { Int($0.split(separator: ",").first ?? "") .map { $0 <= iteration } ?? false }
            try (([header] + kept).joined(separator: "\n") + "\n").write(to: csv, atomically: true, encoding: .utf8)
        }
    }
}
