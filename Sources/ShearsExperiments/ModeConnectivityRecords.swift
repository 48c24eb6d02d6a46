import Foundation
import ShearsOptim
import ShearsData

/// The settings of a mode-connectivity analysis (`shears analyze connectivity`), saved as the output directory's
/// `config.json`; re-running with the same settings resumes, with others is refused.
public struct ConnectivityConfig: Codable, Equatable, Sendable {
    /// The weights at t = 0 (the gRDA minimum in the paper) and t = 1 (the SGD minimum).
    public var start: String
    public var end: String
    public var startLabel = "grda"
    public var endLabel = "sgd"
    /// The model, data and normalisation, taken from the start run's config.json.
    public var training: TrainingConfig
    /// Training of the middle bend θ (the paper's Table 3: lr 0.1, batch 128, no weight decay, momentum 0.9 for VGG16,
    /// 300 / 200 epochs; the learning rate follows the CIFAR rule — constant for half the epochs, then linear to 1 % at
    /// 90 %).
    public var epochs = 10
    public var lr: Float = 0.1
    public var momentum: Float = 0.9
    public var weightDecay: Float = 0
    public var batchSize = 128
    /// The curve training's schedule (`ScheduleRegistry`): `cifar` (the paper's per-epoch rule) by default.
    public var schedule = ScheduleSpec(CIFARDecayLR.scheduleName)
    /// Seed of the minibatch order and of the t drawn for each minibatch.
    public var seed: UInt64 = 1
    /// Points t = linspace(0, 1, points) evaluated along the curve (61 in the paper).
    public var points = 61
    /// G×G plane grid (α, β ∈ linspace(−margin, 1 + margin, G)); 0: no plane.
    public var grid = 21
    public var margin = 0.2
    /// Train examples used to recompute batch-norm statistics and to measure the train loss at each point (the
    /// first N of the train split); nil: all.
    public var trainExamples: Int? = nil

    public init(start: String, end: String, training: TrainingConfig) {
        self.start = start; self.end = end; self.training = training
    }

    public func validate() throws {
        guard epochs >= 0 else { throw TrainingError("--epochs must be ≥ 0, got \(epochs)") }
        guard lr > 0 && lr.isFinite else { throw TrainingError("--lr must be a positive number, got \(lr)") }
        guard momentum >= 0 && momentum < 1 else { throw TrainingError("--momentum must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0 else { throw TrainingError("--weight-decay must be ≥ 0, got \(weightDecay)") }
        guard batchSize >= 1 else { throw TrainingError("--batch-size must be ≥ 1, got \(batchSize)") }
        do { try ScheduleRegistry.validate(schedule, baseLR: lr) } catch let e as ScheduleError { throw TrainingError("--schedule: \(e.description)") }
        guard points >= 2 else { throw TrainingError("--points must be ≥ 2 (the two ends), got \(points)") }
        guard grid == 0 || grid >= 2 else { throw TrainingError("--grid must be 0 (no plane) or ≥ 2, got \(grid)") }
        guard margin >= 0 && margin.isFinite else { throw TrainingError("--margin must be ≥ 0, got \(margin)") }
        if let n = trainExamples, n < 1 { throw TrainingError("--train-examples must be ≥ 1, got \(n)") }
    }
}

/// The measurements at one point of weight space (batch-norm statistics recomputed there first).
public struct ConnectivityPoint: Codable, Equatable, Sendable {
    public var trainLoss: Double
    public var trainError: Double
    public var testLoss: Double
    public var testError: Double
}

/// Train loss / error and test loss / error (errors as fractions) along the curve at t = linspace(0, 1, n).
public struct ConnectivityCurve: Codable, Equatable, Sendable {
    public var t: [Double] = []
    public var trainLoss: [Double] = []
    public var trainError: [Double] = []
    public var testLoss: [Double] = []
    public var testError: [Double] = []

    mutating func append(_ t: Double, _ p: ConnectivityPoint) {
        self.t.append(t); trainLoss.append(p.trainLoss); trainError.append(p.trainError)
        testLoss.append(p.testLoss); testError.append(p.testError)
    }
}

/// The plane through the three bends: `trainLoss[j][i]` at (xs[i], ys[j]) in plot coordinates (α·dx, β·dy), the bends
/// at `bends` (start, middle, end) and the curve's projection `curve` (one point per t of the curve).
public struct ConnectivityPlane: Codable, Equatable, Sendable {
    public var xs: [Double]
    public var ys: [Double]
    public var trainLoss: [[Double]]
    public var trainError: [[Double]]
    public var testLoss: [[Double]]
    public var testError: [[Double]]
    public var bends: [[Double]]
    public var curve: [[Double]]
}

/// Summary statistics of one measurement along the curve (`eval_curve.py`'s min / max / mean / length-weighted
/// integral) and the barrier: the curve's maximum minus the larger of its two ends.
public struct CurveStatistic: Codable, Equatable, Sendable {
    public var start: Double
    public var end: Double
    public var min: Double
    public var argminT: Double
    public var max: Double
    public var argmaxT: Double
    public var mean: Double
    public var lengthWeightedMean: Double
    public var barrier: Double

    init(t: [Double], values v: [Double], lengthWeighted: Double) {
        start = v.first ?? .nan; end = v.last ?? .nan
        let iMin = v.indices.min { v[$0] < v[$1] } ?? 0, iMax = v.indices.max { v[$0] < v[$1] } ?? 0
        min = v[iMin]; argminT = t[iMin]; max = v[iMax]; argmaxT = t[iMax]
        mean = v.reduce(0, +) / Double(Swift.max(v.count, 1))
        lengthWeightedMean = lengthWeighted
        barrier = max - Swift.max(start, end)
    }
}

/// `connectivity.json`: everything `shears report` and the docs read.
public struct ConnectivityReport: Codable, Equatable, Sendable {
    public var start: String
    public var end: String
    public var startLabel: String
    public var endLabel: String
    public var curve: ConnectivityCurve
    public var plane: ConnectivityPlane?
    /// ‖w_end − w_start‖ (the end's x in the plane) and the middle bend's plane coordinates.
    public var distance: Double
    public var middle: [Double]
    public var trainLoss: CurveStatistic
    public var testError: CurveStatistic
    /// The mean training loss of θ's last epoch (over the random t of its minibatches).
    public var finalCurveTrainingLoss: Double?
    public var trainingSeconds: Double
}
