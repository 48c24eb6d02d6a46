import Foundation
import ShearsIO

/// The distributions of one pruning cycle (one curve of Fig. 1 per panel).
public struct CycleDistribution: Codable, Equatable, Sendable {
    /// The pruning cycle m (0 = the unpruned network).
    public var cycle: Int
    /// P_m, the percent of prunable weights remaining (100, 80, 64, …).
    public var percentRemaining: Double
    /// Fig. 1(a): the weight gradients.
    public var gradients: Histogram
    /// Fig. 1(b): the post-ReLU hidden activations, when measured.
    public var activations: Histogram?

    public init(cycle: Int, percentRemaining: Double, gradients: Histogram, activations: Histogram? = nil) {
        self.cycle = cycle; self.percentRemaining = percentRemaining
        self.gradients = gradients; self.activations = activations
    }
}

/// Which panel of Fig. 1.
public enum DistributionKind: String, Codable, Sendable, CaseIterable {
    case gradients, activations
}

/// The legend of a cycle: "P = 100%", "P = 80%", "P = 51.2%", "P = 5.72%" (3 significant digits).
public func percentRemainingLabel(_ p: Double) -> String {
    var s = String(format: "%.3g", p)
    if s.contains("e") { s = String(format: "%.3f", p) }
    return "P = \(s)%"
}

/// One density curve per cycle (x = bin centre, y = density), in the order of `records`; a record without
/// activations is left out of the `.activations` chart. Use histograms on common edges (`Histogram.fixed`) for
/// curves that compare bin by bin; Sturges histograms of each cycle also plot correctly, each on its own bins.
public func distributionChart(_ records: [CycleDistribution], kind: DistributionKind, title: String) -> SVGLineChart {
    let series: [(name: String, points: [(Double, Double)])] = records.compactMap { r in
        let h: Histogram?
        switch kind {
        case .gradients: h = r.gradients
        case .activations: h = r.activations
        }
        guard let h else { return nil }
        return (name: percentRemainingLabel(r.percentRemaining), points: Array(zip(h.centres, h.density)))
    }
    let (xLabel, yLabel): (String, String)
    switch kind {
    case .gradients:
        xLabel = "weight gradient ∂L/∂w (loss per unit weight)"
        yLabel = "density (fraction of gradients per unit ∂L/∂w)"
    case .activations:
        xLabel = "post-ReLU activation of hidden layers (unitless)"
        yLabel = "density (fraction of activations per unit)"
    }
    return SVGLineChart(title: title, xLabel: xLabel, yLabel: yLabel, series: series)
}

/// Writes `<name>.json` (the records) and `<name>-gradients.svg` / `<name>-activations.svg` (the latter when
/// any record has activations) into `run`.
public func writeDistributions(_ records: [CycleDistribution], to run: RunDirectory, name: String = "distributions",
                               title: String = "S-Cyc Fig. 1") throws {
    try run.writeJSON(records, to: "\(name).json")
    try distributionChart(records, kind: .gradients, title: "\(title)(a): weight gradients")
        .write(to: run.path("\(name)-gradients.svg"))
    if records.contains(where: { $0.activations != nil }) {
        try distributionChart(records, kind: .activations, title: "\(title)(b): post-ReLU activations")
            .write(to: run.path("\(name)-activations.svg"))
    }
}
