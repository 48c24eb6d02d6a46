import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsTensor

/// `shears eval`: evaluate any model file — a checkpoint, a run's model, a bitmask or CSR export.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model file (dense, bitmask or CSR state dict, or a checkpoint) on a dataset's splits.",
        discussion: """
        MODEL is a safetensors state dict in any of the formats shears export writes, or a run directory (its \
        model.safetensors, with the model and data of its config.json). The input normalisation is the one stored \
        in the file (shears.mean / shears.std) when present, else the training split's statistics. Prints loss and \
        accuracy on the train probe (first 10,000 training examples), the validation hold-out and the test set of \
        the named split, with the sparsity of the weights.
        """)

    @Argument(help: "A model file or a run directory.") var model: String
    @OptionGroup(title: "Data") var data: DataFlags<PlainTrainingDefaults>
    @OptionGroup(title: "Model") var training: TrainingFlags<PlainTrainingDefaults>
    @Option(help: "Threads for the kernels.") var threads: Int = 2
    @Option(help: ArgumentHelp("Also write the first --io-examples test examples to this safetensors file: input (as the network receives it, normalised), output (its logits) and label — what another engine's outputs are compared against (bench/engines_check.sh).", valueName: "file"))
    var ioOut: String?
    @Option(help: "With --io-out: how many test examples (from the first).") var ioExamples: Int = 1000

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        guard (1...1_000_000).contains(ioExamples) else { throw ValidationError("--io-examples must be between 1 and 1000000, got \(ioExamples)") }
        if let ioOut {
            let folder = (ioOut as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) else {
                throw ValidationError("--io-out \(ioOut): the folder \(folder) does not exist")
            }
        }
        _ = try config()
    }

    func config() throws -> TrainingConfig {
        var (c, file) = try PruneOneShot.source(model)
        c.initFrom = file
        data.apply(to: &c)
        try training.apply(to: &c)
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return c
    }

    func run() throws {
        Threads.set(threads)
        let c = try config()
        var prepared = try prepareData(c)
        var g = Generator(seed: c.seed)
        let (net, info, meta) = try loadModel(c.model, inputShape: prepared.train.imageShape, classes: prepared.train.classes,
                                              from: c.initFrom!, generator: &g)
        print("loaded " + info.summary)
        if let mean = meta["shears.mean"].map(Self.floats), let std = meta["shears.std"].map(Self.floats), mean.count == std.count {
            prepared.mean = mean; prepared.std = std
        }
        let params = net.namedParameters
        let zeros = params.reduce(0) { $0 + $1.1.value.scalars.filter { $0 == 0 }.count }, all = params.reduce(0) { $0 + $1.1.value.count }
        print("\(c.model.rawValue) on \(c.dataset.rawValue), \(c.split.rawValue) split; "
              + String(format: "%.2f%% of the %d parameters are zero", 100 * Double(zeros) / Double(max(all, 1)), all))
        for (name, set) in [("train probe", prepared.trainProbe), ("validation", prepared.validation), ("test", prepared.test)] where set.count > 0 {
            let r = evaluate(net, on: set, mean: prepared.mean, std: prepared.std)
            print(String(format: "%@: accuracy %.2f%%, loss %.4f (%d examples)", name, 100 * r.accuracy, r.loss, set.count))
        }
        if let ioOut { try writeInputsAndOutputs(net, prepared, to: ioOut) }
    }

    /// The first `ioExamples` test examples through the network in inference mode, with their inputs as it receives
    /// them, so an engine given the same inputs (an ONNX export's) can be compared logit by logit.
    func writeInputsAndOutputs(_ net: any Layer, _ prepared: PreparedData, to path: String) throws {
        guard prepared.test.count > 0 else { throw ValidationError("--io-out: the test split is empty") }
        let n = min(ioExamples, prepared.test.count)
        let loader = DataLoader(dataset: prepared.test, batchSize: n, shuffle: false, seed: 0, mean: prepared.mean, std: prepared.std, prefetch: 0)
        guard let batch = loader.epoch(0).first(where: { _ in true }) else { throw ValidationError("--io-out: no test batch") }
        let logits = InferencePlans.infer(net, batch.images)   // what `evaluate` runs: the inference plan
        try SafetensorsFile.write(path: path, tensors: ["input": batch.images.contiguous(), "output": logits.contiguous(),
                                                        "label": Tensor(shape: [n], scalars: batch.labels.map(Float.init))],
                                  dtypes: ["label": .I64], metadata: ["format": "pt", "shears.examples": "first \(n) of the test split"])
        print("wrote \(n) test examples' inputs, logits and labels to \(path)")
    }

    static func floats(_ text: String) -> [Float] { text.split(separator: ",").compactMap { Float($0) } }
}
