import Foundation
import ShearsAnalysis
import ShearsData
import ShearsIO
import ShearsNN
import ShearsPrune
import ShearsTensor

/// `--distributions`: the S-Cyc paper's Fig. 1 probes at the end of every training cycle.
public struct DistributionOptions: Codable, Equatable, Sendable {
    /// Training batches the weight gradients are averaged over, and whose hidden activations are histogrammed.
    public var batches: Int = 20
    public init(batches: Int = 20) { self.batches = batches }
}

/// One cycle's summary of the two distributions, with the cycle-0 scale as the fixed yardstick: a narrowing
/// distribution shows as a falling `std` and a falling fraction outside ±2σ₀ / ±3σ₀ of the unpruned network.
public struct CycleDistributionStats: Codable, Equatable, Sendable {
    public var cycle: Int
    public var percentRemaining: Double
    public var gradientCount: Int
    public var gradientStd: Double
    /// Fraction of alive-weight gradients with |g − μ₀| > kσ₀, μ₀ and σ₀ of cycle 0's gradients (k = 2, 3).
    public var gradientOutside2Sigma0: Double
    public var gradientOutside3Sigma0: Double
    /// The same three numbers over *all* weights, pruned ones included (the paper's "all weight gradients"; a pruned
    /// weight's gradient is in general not 0), against the same μ₀ ± kσ₀ of cycle 0's alive-weight gradients.
    public var allWeightsGradientStd: Double
    public var allWeightsGradientOutside2Sigma0: Double
    public var allWeightsGradientOutside3Sigma0: Double
    public var activationMean: Double?
    public var activationStd: Double?
    /// Fraction of post-ReLU activations above μ₀ + 2σ₀ of cycle 0's activations.
    public var activationAbove2Sigma0: Double?

    enum CodingKeys: String, CodingKey {
        case cycle
        case percentRemaining = "percent_remaining"
        case gradientCount = "gradient_count"
        case gradientStd = "gradient_std"
        case gradientOutside2Sigma0 = "gradient_outside_2sigma0"
        case gradientOutside3Sigma0 = "gradient_outside_3sigma0"
        case allWeightsGradientStd = "all_weights_gradient_std"
        case allWeightsGradientOutside2Sigma0 = "all_weights_gradient_outside_2sigma0"
        case allWeightsGradientOutside3Sigma0 = "all_weights_gradient_outside_3sigma0"
        case activationMean = "activation_mean"
        case activationStd = "activation_std"
        case activationAbove2Sigma0 = "activation_above_2sigma0"
    }
}

extension IterativePruning {
    static let distributionsDirectory = "distributions"

    /// Measures Fig. 1 after cycle m and (re)writes, under `distributions/`:
    /// - `sturges.json` + `sturges-gradients.svg` / `sturges-activations.svg`: each cycle's histograms on Sturges'
    ///   rule (k = ⌈log₂ n⌉ + 1 bins over its own [min, max]), as the paper draws them;
    /// - `common.json` + `common-*.svg`: the same values on common edges, cycle 0's mean ± 4σ₀ in cycle 0's Sturges
    ///   bin count, so that the curves compare bin by bin (values outside land in under/overflow);
    /// - `stats.json`: per cycle std and the mass outside cycle 0's ±2σ₀ / ±3σ₀ (`CycleDistributionStats`), for the
    ///   alive weights and for all weights.
    /// Gradients: ∂L/∂w of the conv/linear weights over `batches` training batches (their own seeded stream, the
    /// same for every cycle), alive weights only (the spec's [proposal]; a pruned weight's gradient is not part of
    /// the trained network). Activations: post-ReLU outputs of every hidden layer, for MLP models only.
    /// Records of cycles ≥ m (from an interrupted attempt) are replaced, so a resumed run writes the same files.
    static func recordDistributions(_ env: CycleEnvironment, options: DistributionOptions, model: any Layer, mask: Mask,
                                    cycle m: Int, seed: UInt64) throws {
        let dir = try RunDirectory(path: env.run.path(distributionsDirectory))
        let tc = env.training
        let probeLoader = DataLoader(dataset: env.data.train, batchSize: tc.batchSize, shuffle: true, seed: seed ^ 0xF161_0001,
                                     mean: env.data.mean, std: env.data.std, prefetch: 0)
        let batches = Array(probeLoader.epoch(0).prefix(options.batches))
        let loss: (any Layer, Batch) -> Variable = { model, batch in
            softmaxCrossEntropy(logits: model(Variable(batch.images)), labels: batch.labels)
        }
        let allGradients = gradientValues(model: model, batches: batches, loss: loss, parameters: weightParameters(of: model))
        let gradients = gradientValues(model: model, batches: batches, loss: loss, parameters: weightParameters(of: model),
                                       excludingMasked: mask.tensors)
        let activations = (model as? MLP).map { postReLUActivations(of: $0, batches: batches) }
        let percent = 100 * mask.density

        var sturges = (try dir.readJSON([CycleDistribution].self, from: "sturges.json") ?? []).filter { $0.cycle < m }
        var common = (try dir.readJSON([CycleDistribution].self, from: "common.json") ?? []).filter { $0.cycle < m }
        var stats = (try dir.readJSON([CycleDistributionStats].self, from: "stats.json") ?? []).filter { $0.cycle < m }
        let gradientHistogram = Histogram.sturges(gradients)
        let activationHistogram = activations.map { Histogram.sturges($0) }
        sturges.append(CycleDistribution(cycle: m, percentRemaining: percent, gradients: gradientHistogram,
                                         activations: activationHistogram))

        // Cycle 0 sets the yardstick: its Sturges record is the first one.
        let reference = sturges.first { $0.cycle == 0 } ?? sturges[0]
        func commonEdges(_ h: Histogram) -> [Double] {
            let lo = h.mean - 4 * h.std, hi = h.mean + 4 * h.std
            return hi > lo ? Histogram.uniformEdges(lo, hi, bins: h.binCount) : h.edges
        }
        let g0 = reference.gradients
        common.append(CycleDistribution(
            cycle: m, percentRemaining: percent,
            gradients: Histogram.fixed(gradients, edges: commonEdges(g0)),
            activations: activations.flatMap { a in reference.activations.map { Histogram.fixed(a, edges: commonEdges($0)) } }))
        let a0 = reference.activations
        stats.append(CycleDistributionStats(
            cycle: m, percentRemaining: percent, gradientCount: gradients.count, gradientStd: gradientHistogram.std,
            gradientOutside2Sigma0: fractionOutside(gradients, (g0.mean - 2 * g0.std)...(g0.mean + 2 * g0.std)),
            gradientOutside3Sigma0: fractionOutside(gradients, (g0.mean - 3 * g0.std)...(g0.mean + 3 * g0.std)),
            allWeightsGradientStd: Histogram.sturges(allGradients).std,
            allWeightsGradientOutside2Sigma0: fractionOutside(allGradients, (g0.mean - 2 * g0.std)...(g0.mean + 2 * g0.std)),
            allWeightsGradientOutside3Sigma0: fractionOutside(allGradients, (g0.mean - 3 * g0.std)...(g0.mean + 3 * g0.std)),
            activationMean: activationHistogram?.mean, activationStd: activationHistogram?.std,
            activationAbove2Sigma0: activations.flatMap { a in a0.map { fractionOutside(a, -Double.infinity...($0.mean + 2 * $0.std)) } }))

        try writeDistributions(sturges, to: dir, name: "sturges", title: "S-Cyc Fig. 1 (Sturges bins per cycle) ")
        try writeDistributions(common, to: dir, name: "common", title: "S-Cyc Fig. 1 (common bins) ")
        try dir.writeJSON(stats, to: "stats.json")
        env.say(String(format: "cycle %d distributions: gradient std %.3g, outside ±2σ₀ %.2f%%%@", m, gradientHistogram.std,
                       100 * stats.last!.gradientOutside2Sigma0,
                       activationHistogram.map { String(format: ", activation std %.3g", $0.std) } ?? ""))
    }
}
