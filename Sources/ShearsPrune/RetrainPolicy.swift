import ShearsTensor

/// What happens to the weights and the LR schedule between pruning cycles (Renda, Frankle & Carbin 2020;
/// S-Cyc spec §4 "Retraining policies"). In every case the mask is applied afterwards, so only survivors move.
public enum RetrainPolicy: Codable, Equatable, Sendable {
    /// IMP (Frankle & Carbin 2019): survivors back to their initial values θ₀, schedule from iteration 0.
    case rewindToInit
    /// Weight rewinding (Frankle et al. 2020): survivors back to θ_k, schedule resumes at iteration k.
    case rewindTo(iteration: Int)
    /// LR rewinding (Renda et al. 2020): keep the trained weights, restart the schedule from iteration 0.
    /// S-Cyc is this with a per-cycle peak LR.
    case lrRewind
    /// Fine-tuning: keep the trained weights, train at the constant `lr` (the original schedule's final LR).
    case fineTune(lr: Float)
    /// Control: survivors get fresh random values from a model initialised with `seed`; schedule from 0.
    case reinit(seed: UInt64)

    /// The iteration whose weights the first training must snapshot for this policy (nil: none needed).
    public var snapshotIteration: Int? {
        switch self {
        case .rewindToInit: return 0
        case .rewindTo(let k): return k
        case .lrRewind, .fineTune, .reinit: return nil
        }
    }

    /// Where the next cycle's training starts.
    public struct Plan: Equatable, Sendable {
        /// Iteration at which the LR schedule resumes.
        public var startIteration: Int
        /// A constant LR replacing the schedule (fine-tuning), or nil to follow it.
        public var constantLearningRate: Float?

        public init(startIteration: Int, constantLearningRate: Float? = nil) {
            self.startIteration = startIteration
            self.constantLearningRate = constantLearningRate
        }
    }

    /// Resets `parameters` as the policy says, applies `mask`, and returns where the schedule resumes.
    /// - `snapshot`: θ₀ or θ_k for the rewinding policies (a precondition failure if missing).
    /// - `reinitialized`: for `.reinit`, builds a fresh model's named parameters from the seed.
    public func prepare(parameters: [(String, Variable)], mask: Mask, snapshot: WeightSnapshot? = nil,
                        reinitialized: ((UInt64) -> [(String, Variable)])? = nil) -> Plan {
        let plan: Plan
        switch self {
        case .rewindToInit, .rewindTo:
            guard let snapshot else { preconditionFailure("RetrainPolicy.\(self): needs the weight snapshot at iteration \(snapshotIteration!)") }
            snapshot.restore(into: parameters)
            plan = Plan(startIteration: snapshotIteration!, constantLearningRate: nil)
        case .lrRewind:
            plan = Plan(startIteration: 0, constantLearningRate: nil)
        case .fineTune(let lr):
            plan = Plan(startIteration: 0, constantLearningRate: lr)
        case .reinit(let seed):
            guard let reinitialized else { preconditionFailure("RetrainPolicy.reinit: needs a model factory") }
            WeightSnapshot(reinitialized(seed)).restore(into: parameters)
            plan = Plan(startIteration: 0, constantLearningRate: nil)
        }
        mask.apply(to: parameters)
        return plan
    }
}
