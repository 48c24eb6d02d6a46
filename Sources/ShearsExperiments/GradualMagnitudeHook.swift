import ShearsOptim
import ShearsPrune
import ShearsTensor

/// Gradual magnitude pruning (Zhu & Gupta 2017) as a hook of the one loop: at each of the schedule's pruning steps,
/// before that step's forward pass, the mask of the conv/linear weights is recomputed to the scheduled sparsity by
/// magnitude (nested: pruned weights stay pruned), applied, and a fresh masked SGD takes over (as the gRDA paper's
/// comparison does it; momentum-free SGD has no state to carry).
final class GradualMagnitudeHook: TrainHook {
    let schedule: ZhuGuptaSchedule
    let weights: [(String, Variable)]
    var mask: Mask
    let allocation: Allocation
    let lr: Float
    /// The final sparsity of the prunable weights.
    let target: Double

    init(schedule: ZhuGuptaSchedule, weights: [(String, Variable)], mask: Mask, allocation: Allocation, lr: Float, target: Double) {
        self.schedule = schedule; self.weights = weights; self.mask = mask; self.allocation = allocation; self.lr = lr
        self.target = target
    }

    func optimizer() -> any Optimizer { MaskedOptimizer(SGD(learningRate: lr), mask: mask) }

    func beforeStep(_ loop: TrainLoop, _ state: inout LoopState) throws {
        guard schedule.isPruningStep(state.iteration) else { return }
        mask = gradualMagnitudeStep(parameters: weights, mask: mask, targetSparsity: schedule.sparsity(at: state.iteration),
                                    allocation: allocation)
        mask.apply(to: weights)
        state.optimizer = optimizer()
    }
}
