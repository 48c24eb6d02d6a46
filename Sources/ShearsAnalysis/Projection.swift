import Foundation

/// The gRDA paper's projection proportion (§4.3, eq. 13; spec §4b): how much of the difference between the gRDA and the
/// SGD weights of the same epoch lies in the top-k eigenspace of the Hessian at the SGD weights,
///
///     P_t = ‖Π_top Δ_t‖₂ / ‖Δ_t‖₂ = sqrt( Σ_{i=1}^{k} (v_iᵀΔ_t)² ) / ‖Δ_t‖₂,   Δ_t = w_t^gRDA − w_t^SGD,
///
/// with v_1 … v_k orthonormal. The paper's claim is that P_t is small: gRDA deviates from SGD in flat directions.
/// Spec §4b found that the published Figure 6 plots sqrt(Σ_i (v_iᵀΔ)² / Σ_{i=1}^{10} ‖Δ‖²) = P_t/√10 (‖Δ‖² summed ten
/// times); `plottedValue` gives that figure for comparison with the plot.
public struct ProjectionProportion: Codable, Equatable, Sendable {
    /// P_t of eq. 13.
    public var proportion: Double
    /// P_t/√k: what the published Figure 6 shows (k = 10 there).
    public var plottedValue: Double
    /// v_iᵀΔ for each eigenvector.
    public var components: [Double]
    /// ‖Δ‖₂.
    public var deltaNorm: Double
    /// d, the number of parameters: a random direction's expected share of a k-dimensional subspace is √(k/d), the
    /// baseline P is read against. (Optional: absent in files written before it was recorded.)
    public var dimension: Int?

    /// Eq. 13 for `delta` and unit-norm, mutually orthogonal `eigenvectors` of the same length.
    public init(delta: [Double], eigenvectors: [[Double]]) {
        precondition(!eigenvectors.isEmpty, "ProjectionProportion: needs at least one eigenvector")
        for v in eigenvectors {
            precondition(v.count == delta.count, "ProjectionProportion: an eigenvector has \(v.count) entries, Δ has \(delta.count)")
        }
        components = eigenvectors.map { v in zip(v, delta).reduce(0) { $0 + $1.0 * $1.1 } }
        deltaNorm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        dimension = delta.count
        let projected = components.reduce(0) { $0 + $1 * $1 }.squareRoot()
        proportion = deltaNorm > 0 ? projected / deltaNorm : 0
        plottedValue = proportion / Double(eigenvectors.count).squareRoot()
    }
}
