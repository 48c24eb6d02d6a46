import Foundation
import ShearsAnalysis
import ShearsData
import ShearsIO
import ShearsNN
import ShearsTensor

/// What `shears analyze hessian` writes to `hessian.json`.
public struct HessianReport: Codable, Equatable, Sendable {
    public var weights: String
    public var dataset: String
    public var split: String
    public var examples: Int
    public var batchSize: Int
    public var parameters: Int
    /// λ₁ ≥ … ≥ λ_k of the Hessian of the mean cross-entropy over the examples, model in eval mode.
    public var eigenvalues: [Double]
    /// ‖H·v_i − λ_i·v_i‖ / max(1, |λ_i|), measured with one more Hessian-vector product per pair. The HVPs are float32
    /// central differences, so this, not Lanczos' own estimate, is the accuracy to quote.
    public var relativeResiduals: [Double]
    /// Lanczos' residual estimates β_j·|s_i[j]| (exact-arithmetic bounds for an exactly linear symmetric operator).
    public var lanczosResidualEstimates: [Double]
    public var lanczosIterations: Int
    public var converged: Bool
    public var seconds: Double
}

/// Options of a top-k Hessian eigenpair computation.
public struct HessianOptions: Sendable {
    public var k = 10
    /// Examples of the split the Hessian averages over (the first N in dataset order; nil: all).
    public var examples: Int? = 1000
    public var batchSize = 500
    public var maxIterations = 60
    public var tolerance = 1e-3
    public var seed: UInt64 = 0
    /// The finite-difference step of the Hessian-vector products along a unit vector (nil: ∛ε·(1 + ‖θ‖)).
    public var step: Float? = nil
    /// train or test.
    public var split = "train"
    public init() {}
}

/// The top-k eigenpairs of the training-loss Hessian of a trained model (the gRDA paper's §4.3 / spec §4b), by Lanczos
/// with full reorthogonalisation (`lanczosTopEigenpairs`) on Hessian-vector products averaged over a dataset
/// (`DatasetHessian`, model in eval mode).
public enum HessianAnalysis {
    /// Loads `weights` into the model that `runConfig` describes (a run's `config.json`: model, dataset, split,
    /// normalisation), computes the eigenpairs and writes `hessian.json` and `hessian_eigenvectors.safetensors`
    /// (`v<i>/<parameter name>`, unit norm over all parameters together) to `out`.
    public static func run(runConfig config: TrainingConfig, weights: String, options o: HessianOptions, out: RunDirectory,
                           say: (String) -> Void = { print($0) }) throws -> HessianReport {
        let (hessian, pairs, examples, seconds) = try eigenpairs(config, weights: weights, options: o, say: say)
        let measured = zip(pairs.eigenvalues, pairs.eigenvectors).map { lambda, v -> Double in
            let hv = hessian.apply(v)
            let r = zip(hv, v).reduce(0.0) { $0 + ($1.0 - lambda * $1.1) * ($1.0 - lambda * $1.1) }.squareRoot()
            return r / max(1, abs(lambda))
        }
        say("accuracy of the eigenpairs, measured with one more Hessian-vector product each, ‖Hv − λv‖/max(1, |λ|): "
            + measured.map { String(format: "%.1e", $0) }.joined(separator: " "))
        let params = hessian.parameters
        var tensors: [String: Tensor] = [:]
        for (i, v) in pairs.eigenvectors.enumerated() {
            for ((name, _), t) in zip(params, hessian.unflatten(v)) { tensors["v\(i)/\(name)"] = t }
        }
        try SafetensorsFile.write(path: out.path("hessian_eigenvectors.safetensors"), tensors: tensors, dtypes: [:],
                                  metadata: ["eigenvalues": pairs.eigenvalues.map { String($0) }.joined(separator: ",")])
        let report = HessianReport(weights: weights, dataset: config.dataset.rawValue, split: o.split, examples: examples,
                                   batchSize: o.batchSize, parameters: hessian.dimension, eigenvalues: pairs.eigenvalues,
                                   relativeResiduals: measured, lanczosResidualEstimates: pairs.residuals,
                                   lanczosIterations: pairs.iterations, converged: pairs.converged,
                                   seconds: seconds)
        try out.writeJSON(report, to: "hessian.json")
        say("→ " + out.path("hessian.json"))
        return report
    }

    /// Eq. 13 of the paper (`ProjectionProportion`): the share of Δ = w_gRDA − w_SGD (all parameters, flattened in
    /// state_dict order) in the top-k eigenspace of the Hessian at the SGD weights. Writes `projection.json` to `out`.
    public static func projection(runConfig config: TrainingConfig, sgdWeights: String, grdaWeights: String,
                                  options o: HessianOptions, out: RunDirectory,
                                  say: (String) -> Void = { print($0) }) throws -> ProjectionReport {
        let report = try measureProjection(runConfig: config, sgdWeights: sgdWeights, grdaWeights: grdaWeights, options: o, say: say)
        try out.writeJSON(report, to: "projection.json")
        say("→ " + out.path("projection.json"))
        return report
    }

    /// Eq. 13 along training (spec §4b: the paper measures it at checkpoints of both runs, epochs 10 … 600): at every
    /// iteration for which both phase directories hold a `--snapshot-every` snapshot, the top-k eigenvectors of the
    /// Hessian at that SGD snapshot and the share of w_gRDA − w_SGD in their span. Writes `projection_along.json` after
    /// each point (a re-run resumes after the last one) and `projection_along.svg`.
    public static func projectionAlong(runConfig config: TrainingConfig, sgdRun: String, grdaRun: String, options o: HessianOptions,
                                       out: RunDirectory, say: (String) -> Void = { print($0) }) throws -> [ProjectionAlongPoint] {
        let sgdIterations = DirectionalPruning.snapshotIterations(in: sgdRun)
        let grdaIterations = Set(DirectionalPruning.snapshotIterations(in: grdaRun))
        let common = sgdIterations.filter { grdaIterations.contains($0) }
        guard !common.isEmpty else {
            throw TrainingError("no iteration has a snapshot in both \(sgdRun)/snapshots and \(grdaRun)/snapshots; "
                                + "train them with `shears prune grda --snapshot-every …`")
        }
        var points = try out.readJSON([ProjectionAlongPoint].self, from: "projection_along.json") ?? []
        points = points.filter { common.contains($0.iteration) }
        for it in common where !points.contains(where: { $0.iteration == it }) {
            say("iteration \(it):")
            let r = try measureProjection(runConfig: config, sgdWeights: sgdRun + "/" + DirectionalPruning.snapshotName(it),
                                          grdaWeights: grdaRun + "/" + DirectionalPruning.snapshotName(it), options: o, say: say)
            points.append(ProjectionAlongPoint(iteration: it, eigenvalues: r.eigenvalues, converged: r.converged, projection: r.projection))
            points.sort { $0.iteration < $1.iteration }
            try out.writeJSON(points, to: "projection_along.json")
        }
        let k = Double(o.k)
        try SVGLineChart(title: "Share of w_gRDA − w_SGD in the top-\(o.k) Hessian eigenspace along training (eq. 13)",
                         xLabel: "iteration", yLabel: "projection proportion",
                         series: [("P (eq. 13)", points.map { (Double($0.iteration), $0.projection.proportion) }),
                                  ("P/√k (the published Figure 6's scale)", points.map { (Double($0.iteration), $0.projection.proportion / k.squareRoot()) })])
            .write(to: out.path("projection_along.svg"))
        say("→ " + out.path("projection_along.json"))
        return points
    }

    /// Eq. 13 at one pair of weights, nothing written.
    static func measureProjection(runConfig config: TrainingConfig, sgdWeights: String, grdaWeights: String,
                                  options o: HessianOptions, say: (String) -> Void) throws -> ProjectionReport {
        let (hessian, pairs, examples, _) = try eigenpairs(config, weights: sgdWeights, options: o, say: say)
        let data = try prepareData(config)
        var g = Generator(seed: config.seed)
        let other = try makeModel(config.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
        say("loaded " + (try loadStateDict(other, from: grdaWeights)).summary)
        var delta: [Double] = []
        delta.reserveCapacity(hessian.dimension)
        for ((name, p), (otherName, q)) in zip(hessian.parameters, other.namedParameters) {
            precondition(name == otherName, "projection: parameter order differs (\(name) vs \(otherName))")
            for (a, b) in zip(q.value.scalars, p.value.scalars) { delta.append(Double(a) - Double(b)) }
        }
        let proportion = ProjectionProportion(delta: delta, eigenvectors: pairs.eigenvectors)
        let report = ProjectionReport(sgdWeights: sgdWeights, grdaWeights: grdaWeights, examples: examples,
                                      eigenvalues: pairs.eigenvalues, converged: pairs.converged, projection: proportion)
        say(String(format: "‖Δ‖ = %.4g; eq. 13 proportion P = %.4g (the published Figure 6 would plot P/√k = %.4g)",
                   proportion.deltaNorm, proportion.proportion, proportion.plottedValue))
        return report
    }

    /// Loads `weights` into the model of `config` and computes the top-k Hessian eigenpairs over the chosen examples.
    static func eigenpairs(_ config: TrainingConfig, weights: String, options o: HessianOptions, say: (String) -> Void) throws
        -> (DatasetHessian, EigenPairs, Int, Double) {
        guard o.k >= 1 else { throw TrainingError("--k must be ≥ 1, got \(o.k)") }
        guard o.batchSize >= 1 else { throw TrainingError("--batch-size must be ≥ 1, got \(o.batchSize)") }
        guard o.maxIterations >= o.k else { throw TrainingError("--lanczos-steps (\(o.maxIterations)) must be ≥ --k (\(o.k))") }
        guard o.tolerance > 0 else { throw TrainingError("--tolerance must be > 0, got \(o.tolerance)") }
        guard o.split == "train" || o.split == "test" else { throw TrainingError("--split must be train or test, got '\(o.split)'") }
        if let n = o.examples, n < 1 { throw TrainingError("--examples must be ≥ 1, got \(n)") }
        let data = try prepareData(config)
        var g = Generator(seed: config.seed)
        let model = try makeModel(config.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
        say("loaded " + (try loadStateDict(model, from: weights)).summary)
        let source = o.split == "train" ? data.train : data.test
        let set = source.prefix(min(o.examples ?? source.count, source.count))
        let loader = DataLoader(dataset: set, batchSize: o.batchSize, shuffle: false, seed: 0, mean: data.mean, std: data.std, prefetch: 0)
        let hessian = DatasetHessian(model: model, parameters: model.namedParameters, batches: Array(loader.epoch(0)), step: o.step)
        let k = min(o.k, hessian.dimension)
        say("Hessian of \(config.model.rawValue) (\(hessian.dimension) parameters) at \(weights) over \(set.count) \(o.split) "
            + "examples: top \(k) eigenpairs by Lanczos")
        let t0 = monotonicSeconds()
        let pairs = hessian.topEigenpairs(k: k, maxIterations: min(o.maxIterations, hessian.dimension), tolerance: o.tolerance, seed: o.seed)
        let seconds = monotonicSeconds() - t0
        for (i, l) in pairs.eigenvalues.enumerated() { say(String(format: "λ%-2d = %.6g", i + 1, l)) }
        // Lanczos' residual estimates assume an exactly linear operator; the central-difference HVP is not one, so they
        // say when Lanczos stopped, not how accurate the pairs are (the measured residuals say that).
        let stop = pairs.converged ? "stopped: its own residual estimates met the tolerance"
            : "stopped at the step limit before its own residual estimates met the tolerance"
        say("\(pairs.iterations) Lanczos steps (\(stop)); those estimates assume an "
            + "exactly linear Hessian-vector product and do not bound the error of these eigenpairs, "
            + String(format: "%.1f s", seconds))
        return (hessian, pairs, set.count, seconds)
    }
}

/// What `shears analyze projection` writes to `projection.json`.
public struct ProjectionReport: Codable, Equatable, Sendable {
    public var sgdWeights: String
    public var grdaWeights: String
    public var examples: Int
    /// The top-k eigenvalues of the Hessian at the SGD weights.
    public var eigenvalues: [Double]
    public var converged: Bool
    public var projection: ProjectionProportion
}

/// One point of `projection_along.json`.
public struct ProjectionAlongPoint: Codable, Equatable, Sendable {
    public var iteration: Int
    /// The top-k eigenvalues of the Hessian at the SGD snapshot.
    public var eigenvalues: [Double]
    public var converged: Bool
    public var projection: ProjectionProportion
}
