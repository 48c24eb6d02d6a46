import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsIO
import ShearsTensor

/// `shears analyze`: loss-landscape analyses of trained networks.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyse trained networks (Hessian spectrum, projection of gRDA − SGD on its top eigenspace).",
        subcommands: [AnalyzeHessian.self, AnalyzeProjection.self, AnalyzeConnectivity.self])
}

/// `shears analyze hessian RUN`: the top-k Hessian eigenpairs of a trained model by Lanczos.
struct AnalyzeHessian: ParsableCommand {
    // (The Lanczos flags are shared with `analyze projection` through `LanczosFlags`.)
    static let configuration = CommandConfiguration(
        commandName: "hessian",
        abstract: "Top-k eigenpairs of the training-loss Hessian by Lanczos on dataset-averaged Hessian-vector products.",
        discussion: """
        RUN is a run directory holding config.json (a `shears train` run, or a phase of `shears prune grda` such as \
        RUN/sgd) and model.safetensors (or give --weights). The Hessian is that of the mean cross-entropy over the first \
        --examples examples of --split, the model in eval mode; Lanczos uses full reorthogonalisation. Writes hessian.json \
        (eigenvalues, residuals) and hessian_eigenvectors.safetensors (v<i>/<parameter>) to --out (default: RUN).
        """)

    @Argument(help: "Run directory with config.json.") var runDirectory: String
    @Option(help: "Weights to analyse (default: RUN/model.safetensors).") var weights: String?
    @OptionGroup var lanczos: LanczosFlags
    @Option(help: "Where to write (default: RUN).") var out: String?

    func validate() throws { _ = try lanczos.options() }

    func run() throws {
        let o = try lanczos.options()
        let (config, w) = try runConfigAndWeights(runDirectory, weights: weights)
        Threads.set(lanczos.threads)
        _ = try HessianAnalysis.run(runConfig: config, weights: w, options: o, out: try RunDirectory(path: out ?? runDirectory))
    }
}

/// `shears analyze projection SGD_RUN GRDA_RUN`: eq. 13 of the gRDA paper.
struct AnalyzeProjection: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projection",
        abstract: "Share of w_gRDA − w_SGD in the top-k Hessian eigenspace at the SGD weights (the gRDA paper's eq. 13).",
        discussion: """
        SGD_RUN and GRDA_RUN are run directories of the same model and data (e.g. RUN/sgd and RUN/grda of `shears prune \
        grda`). Computes the top-k eigenvectors of the Hessian at the SGD weights as `analyze hessian` does, then \
        P = ‖Π_top(w_gRDA − w_SGD)‖ / ‖w_gRDA − w_SGD‖ over all parameters, and also P/√k, the scale the published \
        Figure 6 plots (spec §4b). Writes projection.json to --out (default: GRDA_RUN).
        """)

    @Argument(help: "Run directory of the SGD network (config.json, model.safetensors).") var sgdRun: String
    @Argument(help: "Run directory of the gRDA network.") var grdaRun: String
    @OptionGroup var lanczos: LanczosFlags
    @Option(help: "Where to write (default: GRDA_RUN).") var out: String?

    func validate() throws { _ = try lanczos.options() }

    func run() throws {
        let o = try lanczos.options()
        let (config, sgdWeights) = try runConfigAndWeights(sgdRun, weights: nil)
        let (other, grdaWeights) = try runConfigAndWeights(grdaRun, weights: nil)
        guard other.model == config.model, other.dataset == config.dataset else {
            throw ValidationError("\(sgdRun) trains \(config.model.rawValue) on \(config.dataset.rawValue) but \(grdaRun) trains "
                                  + "\(other.model.rawValue) on \(other.dataset.rawValue); expected the same model and data")
        }
        Threads.set(lanczos.threads)
        _ = try HessianAnalysis.projection(runConfig: config, sgdWeights: sgdWeights, grdaWeights: grdaWeights, options: o,
                                           out: try RunDirectory(path: out ?? grdaRun))
    }
}

/// The Lanczos flags of `analyze hessian` and `analyze projection`.
struct LanczosFlags: ParsableArguments {
    @Option(help: "Eigenpairs to compute.") var k: Int = 10
    @Option(help: "Examples the Hessian averages over (the first N of the split).") var examples: Int = 1000
    @Option(help: "Batch size of the Hessian-vector products.") var batchSize: Int = 500
    @Option(help: "Maximum Lanczos steps (Hessian-vector products).") var lanczosSteps: Int = 60
    @Option(help: "Relative residual tolerance.") var tolerance: Double = 1e-3
    @Option(help: "Split: train or test.") var split: String = "train"
    @Option(help: "Seed of the Lanczos start vector.") var seed: UInt64 = 0
    @Option(help: "Finite-difference step of the Hessian-vector products along a unit vector (default ∛ε·(1 + ‖θ‖)).")
    var hvpStep: Float?
    @Option(help: "Threads for the kernels.") var threads: Int = 2

    func options() throws -> HessianOptions {
        var o = HessianOptions()
        if let h = hvpStep {
            guard h > 0 && h.isFinite else { throw ValidationError("--hvp-step must be a positive number, got \(h)") }
            o.step = h
        }
        o.k = k; o.examples = examples; o.batchSize = batchSize; o.maxIterations = lanczosSteps; o.tolerance = tolerance
        o.split = split; o.seed = seed
        guard k >= 1 else { throw ValidationError("--k must be ≥ 1, got \(k)") }
        guard examples >= 1 else { throw ValidationError("--examples must be ≥ 1, got \(examples)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        guard lanczosSteps >= k else { throw ValidationError("--lanczos-steps (\(lanczosSteps)) must be ≥ --k (\(k))") }
        guard tolerance > 0 else { throw ValidationError("--tolerance must be > 0, got \(tolerance)") }
        guard split == "train" || split == "test" else { throw ValidationError("--split must be train or test, got '\(split)'") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        return o
    }
}

/// A run directory's training config and weights (model.safetensors unless `weights` is given), with clear errors.
func runConfigAndWeights(_ path: String, weights: String?) throws -> (TrainingConfig, String) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ValidationError("\(path) is not a directory; expected a run directory with config.json")
    }
    let dir = try RunDirectory(path: path)
    guard let config = try dir.readJSON(TrainingConfig.self, from: "config.json") else {
        throw ValidationError("\(path) has no config.json; expected a `shears train` run directory or a phase of `shears prune grda` (e.g. RUN/sgd)")
    }
    let w = weights ?? dir.path("model.safetensors")
    guard FileManager.default.fileExists(atPath: w) else {
        throw ValidationError("no weights at \(w); finish the run or pass --weights")
    }
    return (config, w)
}
