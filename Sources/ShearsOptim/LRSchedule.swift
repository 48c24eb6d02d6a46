import Foundation

/// A learning-rate schedule: a pure function of the iteration (and, for the pruning protocols, the cycle), so
/// that a resumed run recomputes exactly the rate it would have used.
public protocol LRSchedule: Sendable {
    func learningRate(iteration: Int, cycle: Int) -> Float
}

extension LRSchedule {
    public func learningRate(iteration: Int) -> Float { learningRate(iteration: iteration, cycle: 0) }
}

/// η everywhere.
public struct ConstantLR: LRSchedule {
    public let base: Float
    public init(_ base: Float) { self.base = base }
    public func learningRate(iteration: Int, cycle: Int) -> Float { base }
}

/// η·γ^⌊t / stepSize⌋ (`torch.optim.lr_scheduler.StepLR`, stepped per iteration).
public struct StepLR: LRSchedule {
    public let base: Float, stepSize: Int, gamma: Float
    public init(base: Float, stepSize: Int, gamma: Float = 0.1) {
        precondition(stepSize > 0, "StepLR: step size must be positive, got \(stepSize)")
        self.base = base; self.stepSize = stepSize; self.gamma = gamma
    }
    public func learningRate(iteration: Int, cycle: Int) -> Float {
        base * Float(pow(Double(gamma), Double(iteration / stepSize)))
    }
}

/// η·γ^(number of milestones ≤ t) (`MultiStepLR`, milestones in iterations).
public struct MultiStepLR: LRSchedule {
    public let base: Float, milestones: [Int], gamma: Float
    public init(base: Float, milestones: [Int], gamma: Float = 0.1) {
        self.base = base; self.milestones = milestones.sorted(); self.gamma = gamma
    }
    public func learningRate(iteration: Int, cycle: Int) -> Float {
        base * Float(pow(Double(gamma), Double(milestones.filter { $0 <= iteration }.count)))
    }
}

/// η_min + (η − η_min)·(1 + cos(π·t/T))/2 over T iterations (`CosineAnnealingLR` without restarts).
public struct CosineLR: LRSchedule {
    public let base: Float, minimum: Float, totalIterations: Int
    public init(base: Float, totalIterations: Int, minimum: Float = 0) {
        precondition(totalIterations > 0, "CosineLR: total iterations must be positive, got \(totalIterations)")
        self.base = base; self.minimum = minimum; self.totalIterations = totalIterations
    }
    public func learningRate(iteration: Int, cycle: Int) -> Float {
        let t = Double(min(iteration, totalIterations)) / Double(totalIterations)
        return minimum + (base - minimum) * Float((1 + cos(Double.pi * t)) / 2)
    }
}

/// The schedules the training CLI offers.
public enum ScheduleKind: String, CaseIterable, Codable, Sendable { case constant, step, multistep, cosine, onecycle }
