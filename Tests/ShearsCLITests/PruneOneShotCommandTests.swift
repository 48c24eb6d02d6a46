import ArgumentParser
import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsData
import ShearsTensor
@testable import shears

/// Pruning what you already have: `prune oneshot` from a run or a file, `--at-init`, `prune iterative
/// --skip-first-training`, and `shears eval` of any checkpoint or export.
final class PruneOneShotCommandTests: CommandTestCase {
    let small = ["--dataset", "synthetic", "--validation", "200", "--threads", "1", "--prefetch", "0"]

    private func trained() throws -> String {
        let out = scratch.appendingPathComponent("dense").path
        try run(["train", "--iterations", "30", "--eval-every", "30it", "--lr", "0.05", "--out", out] + small)
        return out
    }

    /// `prune oneshot --from dense` with `flags` and one epoch of fine-tuning into scratch/`name`: the run directory,
    /// its summary, model and mask.
    private func oneShot(from dense: String, into name: String, _ flags: [String]) throws
        -> (out: String, summary: OneShotSummary, model: [String: Tensor], mask: [String: Tensor]) {
        let out = scratch.appendingPathComponent(name).path
        try run(["prune", "oneshot", "--from", dense] + flags + ["--finetune-epochs", "1", "--out", out, "--threads", "1", "--prefetch", "0"])
        let s = try XCTUnwrap(try RunDirectory(path: out).readJSON(OneShotSummary.self, from: "summary.json"))
        return (out, s, try SafetensorsFile.read(path: out + "/model.safetensors").tensors,
                try SafetensorsFile.read(path: out + "/mask.safetensors").tensors)
    }

    func testOneShotFromARunPrunesFineTunesAndKeepsItsMask() throws {
        let dense = try trained()
        let (out, s, model, mask) = try oneShot(from: dense, into: "oneshot", ["--sparsity", "0.75", "--criterion", "magnitude"])
        XCTAssertEqual(s.percentRemaining, 25, accuracy: 0.01)
        XCTAssertEqual(s.split, "official")
        for (name, m) in mask {
            let w = try XCTUnwrap(model[name]).scalars
            XCTAssertTrue(zip(m.scalars, w).allSatisfy { $0 == 1 || $1 == 0 }, "\(name): pruned weights stay 0 through fine-tuning")
        }
        // The same command again reports the finished run; another sparsity is refused naming the field.
        try run(["prune", "oneshot", "--from", dense, "--sparsity", "0.75", "--finetune-epochs", "1", "--out", out, "--threads", "1"])
        XCTAssertThrowsError(try run(["prune", "oneshot", "--from", dense, "--sparsity", "0.5", "--finetune-epochs", "1", "--out", out,
                                      "--threads", "1"])) { XCTAssertTrue("\($0)".contains("sparsity: 0.75 in the directory, 0.5 now"), "\($0)") }
    }

    /// `--nm 2:4`: any criterion's scores allocated N:M — every run of 4 consecutive inputs of every weight keeps
    /// exactly 2, the pattern holds through fine-tuning (pruned weights stay 0), the model file carries
    /// `shears.nm_pattern` and `shears export --format bitmask` keeps it; `--sparsity` with it and bad patterns are refused.
    func testNMPatternFromAnyCriterionThroughFineTuningAndExport() throws {
        let dense = try trained()
        let (out, s, model, mask) = try oneShot(from: dense, into: "nm", ["--nm", "2:4", "--criterion", "gradient"])
        XCTAssertEqual(s.percentRemaining, 50, accuracy: 1e-9, "LeNet-300-100 on 8×8: 64, 300 and 100 inputs, all multiples of 4")
        XCTAssertFalse(mask.isEmpty)
        for (name, m) in mask {
            let inputs = m.shape[1], v = m.scalars
            for row in 0..<m.shape[0] {
                for run in 0..<(inputs / 4) {
                    let kept = (0..<4).filter { v[row * inputs + run * 4 + $0] == 1 }.count
                    XCTAssertEqual(kept, 2, "\(name) row \(row) run \(run)")
                }
            }
            let w = try XCTUnwrap(model[name]).scalars
            XCTAssertTrue(zip(v, w).allSatisfy { $0 == 1 || $1 == 0 }, "\(name): the pattern holds through fine-tuning")
        }
        XCTAssertEqual(try SafetensorsRawFile.read(path: out + "/model.safetensors").metadata["shears.nm_pattern"], "2:4")
        let exported = scratch.appendingPathComponent("nm.bitmask.safetensors").path
        try run(["export", out + "/model.safetensors", "--format", "bitmask", "--out", exported])
        XCTAssertEqual(try SafetensorsRawFile.read(path: exported).metadata["shears.nm_pattern"], "2:4")
        XCTAssertTrue(refusal(["prune", "oneshot", "--from", dense, "--nm", "2:4", "--sparsity", "0.5"])?.contains("--sparsity") ?? false)
        XCTAssertTrue(refusal(["prune", "oneshot", "--from", dense, "--nm", "4:4"])?.contains("N < M") ?? false)
        XCTAssertTrue(refusal(["prune", "oneshot", "--from", dense, "--nm", "two"])?.contains("N:M") ?? false)
    }

    func testAtInitWithSynFlowAndTheRefusals() throws {
        let out = scratch.appendingPathComponent("synflow").path
        try run(["prune", "oneshot", "--at-init", "--criterion", "synflow", "--synflow-rounds", "5", "--sparsity", "0.9",
                 "--finetune-epochs", "1", "--out", out] + small)
        let s = try XCTUnwrap(try RunDirectory(path: out).readJSON(OneShotSummary.self, from: "summary.json"))
        XCTAssertEqual(s.percentRemaining, 10, accuracy: 0.01)
        XCTAssertTrue(refusal(["prune", "oneshot"])?.contains("--from") ?? false)
        XCTAssertTrue(refusal(["prune", "oneshot", "--at-init"])?.contains("--finetune-epochs") ?? false)
        XCTAssertTrue(refusal(["prune", "oneshot", "--at-init", "--finetune-epochs", "1", "--sparsity", "1"])?.contains("--sparsity") ?? false)
        XCTAssertTrue(refusal(["prune", "oneshot", "--from", scratch.appendingPathComponent("nothing").path])?.contains("no such file") ?? false)
    }

    /// `--sparse-init fan-in` at initialisation: the same mask as the dense scale (the criterion is random), other
    /// weights; refused on a trained model, and `prune dynamic --method gmp` refuses it (gmp starts dense).
    func testSparseInitFanInAtInitialisation() throws {
        var models: [[String: [Float]]] = [], masks: [[String: [Float]]] = []
        for scale in ["dense", "fan-in"] {
            let out = scratch.appendingPathComponent("random-\(scale)").path
            try run(["prune", "oneshot", "--at-init", "--criterion", "random", "--sparsity", "0.9", "--sparse-init", scale,
                     "--finetune-epochs", "1", "--out", out] + small)
            models.append(try SafetensorsFile.read(path: out + "/model.safetensors").tensors.mapValues(\.scalars))
            masks.append(try SafetensorsFile.read(path: out + "/mask.safetensors").tensors.mapValues(\.scalars))
        }
        XCTAssertTrue(masks[0] == masks[1], "the scale does not change the random mask")
        XCTAssertTrue(models[0] != models[1], "fan-in trained other weights")
        let dense = try trained()
        XCTAssertTrue(refusal(["prune", "oneshot", "--from", dense, "--sparse-init", "fan-in"])?.contains("--at-init") ?? false)
        XCTAssertTrue(refusal(["prune", "dynamic", "--method", "gmp", "--sparse-init", "fan-in"] + small)?.contains("--sparse-init") ?? false)
        XCTAssertTrue(refusal(["prune", "dynamic", "--method", "set", "--sparse-init", "kaiming"] + small)?.contains("fan-in") ?? false)
    }

    func testSkipFirstTrainingStartsFromTheTrainedModel() throws {
        let dense = try trained()
        let out = scratch.appendingPathComponent("imp").path
        try run(["prune", "iterative", "--init", dense + "/model.safetensors", "--skip-first-training", "--iterations", "10",
                 "--eval-every", "10it", "--cycles", "1", "--split", "official", "--out", out] + small)
        let records = try JSONLines.numericRows(from: out + "/run_0/cycles.jsonl")
        let trainedSummary = try XCTUnwrap(try RunDirectory(path: dense).readJSON(TrainingSummary.self, from: "summary.json"))
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0]["percent_remaining"], 100)
        // Cycle 0 is the trained model itself, not a retraining: its test accuracy is the trained run's.
        XCTAssertEqual(records[0]["final_test_accuracy"]!, trainedSummary.final["test"]!.accuracy, accuracy: 1e-12)
        XCTAssertTrue(refusal(["prune", "iterative", "--skip-first-training"])?.contains("--init") ?? false)
    }

    func testEvalReadsEveryFormat() throws {
        let dense = try trained()
        let bitmask = scratch.appendingPathComponent("m.bitmask.safetensors").path
        try run(["export", dense + "/model.safetensors", "--format", "bitmask", "--out", bitmask])
        for target in [dense, dense + "/model.safetensors", bitmask, dense + "/checkpoint.safetensors"] {
            var command = try XCTUnwrap(try Shears.parseAsRoot(["eval", target, "--dataset", "synthetic", "--validation", "200",
                                                                "--threads", "1"]) as? Eval)
            XCTAssertNoThrow(try command.run(), target)
        }
        XCTAssertTrue(refusal(["eval", scratch.appendingPathComponent("absent.safetensors").path])?.contains("no such file") ?? false)
    }

    /// `eval` of a protocol's run directory (its config.json holds the training config as "training") with `--io-out`:
    /// the inputs are the test images normalised as the network sees them, the logits are the network's on them
    /// (recomputed here), the labels the test labels; bad values are refused naming the flag.
    func testEvalOfAPruningRunWritesInputsLogitsAndLabels() throws {
        let dense = try trained()
        let pruned = scratch.appendingPathComponent("pruned").path
        try run(["prune", "oneshot", "--from", dense, "--sparsity", "0.5", "--out", pruned, "--threads", "1", "--prefetch", "0"])
        let io = scratch.appendingPathComponent("io.safetensors").path
        try run(["eval", pruned, "--io-out", io, "--io-examples", "50", "--threads", "1"])
        let file = try SafetensorsFile.read(path: io).tensors
        let input = try XCTUnwrap(file["input"]), output = try XCTUnwrap(file["output"]), label = try XCTUnwrap(file["label"])
        XCTAssertEqual(input.shape, [50, 1, 8, 8])
        XCTAssertEqual(output.shape, [50, 10])
        XCTAssertEqual(label.shape, [50])
        // The same logits from the pruned model file and the recorded inputs, computed here.
        let config = try XCTUnwrap(try RunDirectory(path: pruned).readJSON(OneShotConfig.self, from: "config.json")).training
        let data = try prepareData(config)
        var g = Generator(seed: config.seed)
        let net = try makeModel(config.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
        _ = try loadStateDict(net, from: pruned + "/model.safetensors")
        // `eval` runs the inference plan (a linear layer may run on oneDNN's inner product instead of OpenBLAS, with
        // another summation order): the eager forward's logits to 1e-5 of their scale.
        let mine = Context.with(.inference) { GradMode.withoutGrad { net(Variable(input)).value } }
        let scale = max(1, max(abs(mine.max()), abs(mine.min())))
        XCTAssertLessThanOrEqual(mine.maxAbsDifference(output), 1e-5 * scale, "the logits are the model's on the recorded inputs")
        XCTAssertEqual(label.scalars, Array(data.test.labels.prefix(50)).map(Float.init), "the first 50 test labels")
        let normalised = (input.scalars.reduce(0, +) / Float(input.count))
        XCTAssertEqual(normalised, 0, accuracy: 0.5, "normalised inputs, not raw pixels in [0, 1]")
        XCTAssertTrue(refusal(["eval", pruned, "--io-out", io, "--io-examples", "0"])?.contains("--io-examples") ?? false)
        XCTAssertTrue(refusal(["eval", pruned, "--io-out", scratch.appendingPathComponent("no/such/io.safetensors").path])?
            .contains("does not exist") ?? false)
    }
}

/// The normalisation a model was trained with travels in its file to every format and to ONNX.
final class NormalisationMetadataTests: CommandTestCase {
    func testTheModelFileCarriesItsNormalisationThroughExport() throws {
        let out = scratch.appendingPathComponent("dense").path
        try run(["train", "--dataset", "synthetic", "--validation", "200", "--iterations", "4", "--eval-every", "4it",
                 "--threads", "1", "--prefetch", "0", "--out", out])
        let meta = try SafetensorsRawFile.read(path: out + "/model.safetensors").metadata
        let mean = try XCTUnwrap(meta["shears.mean"]), std = try XCTUnwrap(meta["shears.std"])
        XCTAssertEqual(mean.split(separator: ",").count, 1, "one channel")
        XCTAssertTrue(Float(std.split(separator: ",")[0])! > 0)
        let bitmask = scratch.appendingPathComponent("m.safetensors").path
        try run(["export", out + "/model.safetensors", "--format", "bitmask", "--out", bitmask])
        XCTAssertEqual(try SafetensorsRawFile.read(path: bitmask).metadata["shears.mean"], mean, "kept through the bitmask export")
    }
}
