import ShearsNN
import ShearsTensor

/// A pruning criterion: a score per weight, higher = more important (ShrinkBench's strategy split, S-Cyc spec
/// §5.3). Scoring is pure with respect to the model: it never changes weights or buffers (implementations that
/// run the model restore what the forward pass touches). Turning scores into a mask is `prune(…)`'s job, which
/// ranks only alive weights, so scores at already-pruned positions are ignored whatever their value.
public protocol PruningScore {
    /// One score tensor per entry of `parameters`, keyed by name, shaped like the parameter.
    func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor]
}

/// |w| (Han et al. 2015; OpenLTH `sparse_global`; ShrinkBench `GlobalMagWeight`/`LayerMagWeight`).
/// IMP (Frankle & Carbin 2019) is this score on the trained weights plus `RetrainPolicy.rewindToInit`.
public struct MagnitudeScore: PruningScore {
    public init() {}

    public func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.0, $0.1.value.contiguous().map { abs($0) }) })
    }
}

/// U(0, 1) per weight (ShrinkBench `RandomPruning`): with global allocation every alive weight is removed with
/// the same probability. Deterministic per seed: values are drawn from `Generator(seed:)` in `parameters`
/// order, row-major within each tensor, so the same seed and model give the same scores.
public struct RandomScore: PruningScore {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    public func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor] {
        var g = Generator(seed: seed)
        var out: [String: Tensor] = [:]
        for (name, p) in parameters { out[name] = Tensor.uniform(p.shape, generator: &g) }
        return out
    }
}
