import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsOptim
import ShearsReport
import ShearsIO

/// `shears analyze connectivity A B`: the Bézier curve and plane between two trained networks (spec §4a).
struct AnalyzeConnectivity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connectivity",
        abstract: "Mode connectivity: train a quadratic Bézier curve between two networks and measure loss and error along it and on its plane.",
        discussion: """
        A (t = 0; the gRDA network in the paper) and B (t = 1; the SGD network) are run directories of the same model and \
        data (config.json + model.safetensors), e.g. RUN/grda and RUN/sgd of `shears prune grda`. The middle bend starts \
        at their mean and is trained with one t ~ U(0, 1) per minibatch; at each of --points values of t, and at each \
        point of a --grid × --grid grid on the plane through the three bends, batch-norm statistics are recomputed and \
        train loss / error and test loss / error measured. Writes connectivity.json, summary.md, curve_*.svg and \
        plane_*.svg (contours) to --out (default: connectivity/ beside A when A and B share a parent directory). \
        Re-running the same command resumes.
        """)

    @Argument(help: "Run directory of the network at t = 0 (gRDA).") var startRun: String
    @Argument(help: "Run directory of the network at t = 1 (SGD).") var endRun: String
    @Option(help: "Label of A in tables and charts.") var startLabel = "grda"
    @Option(help: "Label of B.") var endLabel = "sgd"
    @Option(help: "Epochs of curve training (paper: 300 for VGG16, 200 for WRN).") var epochs = 10
    @Option(help: "Learning rate of curve training.") var lr: Float = 0.1
    @Option(help: "Momentum of curve training.") var momentum: Float = 0.9
    @Option(help: "Weight decay of curve training.") var weightDecay: Float = 0
    @Option(help: "Batch size of curve training and of the batch-norm recomputation.") var batchSize = 128
    @Option(help: "Learning-rate schedule of the curve training, NAME[:key=value,…]: cifar (constant for 50% of epochs, linear to 1% at 90%), constant, or any of \(ScheduleRegistry.names.joined(separator: ", ")).")
    var schedule = "cifar"
    @Option(help: "Seed of the minibatch order and the t of each minibatch.") var seed: UInt64 = 1
    @Option(help: "Points evaluated along the curve, t = linspace(0, 1, N).") var points = 61
    @Option(help: "Plane grid size G (G×G points); 0: no plane.") var grid = 21
    @Option(help: "Plane margin m: α, β ∈ linspace(−m, 1 + m, G).") var margin = 0.2
    @Option(help: "Train examples for batch-norm statistics and the train loss (default: all).") var trainExamples: Int?
    @OptionGroup var runOptions: RunOptions

    /// The numeric settings, checked before any run directory is read.
    func validate() throws {
        var c = ConnectivityConfig(start: startRun, end: endRun, training: TrainingConfig())
        c.epochs = epochs; c.lr = lr; c.momentum = momentum; c.weightDecay = weightDecay; c.batchSize = batchSize
        c.schedule = try scheduleSpec(); c.points = points; c.grid = grid; c.margin = margin; c.trainExamples = trainExamples
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
    }

    func scheduleSpec() throws -> ScheduleSpec {
        do { return try ScheduleSpec(parsing: schedule) } catch let e as ScheduleError { throw ValidationError("--schedule: \(e.description)") }
    }

    func config() throws -> ConnectivityConfig {
        let (a, wa) = try runConfigAndWeights(startRun, weights: nil)
        let (b, wb) = try runConfigAndWeights(endRun, weights: nil)
        guard a.model == b.model, a.dataset == b.dataset else {
            throw ValidationError("\(startRun) trains \(a.model.rawValue) on \(a.dataset.rawValue) but \(endRun) trains "
                                  + "\(b.model.rawValue) on \(b.dataset.rawValue); expected the same model and data")
        }
        var c = ConnectivityConfig(start: wa, end: wb, training: a)
        c.startLabel = startLabel; c.endLabel = endLabel
        c.epochs = epochs; c.lr = lr; c.momentum = momentum; c.weightDecay = weightDecay; c.batchSize = batchSize
        c.schedule = try scheduleSpec(); c.seed = seed; c.points = points; c.grid = grid; c.margin = margin; c.trainExamples = trainExamples
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return c
    }

    func outputDirectory() throws -> String {
        if let out = runOptions.out { return out }
        let pa = URL(fileURLWithPath: startRun).standardizedFileURL.deletingLastPathComponent()
        let pb = URL(fileURLWithPath: endRun).standardizedFileURL.deletingLastPathComponent()
        guard pa == pb else { throw ValidationError("A and B are in different directories; give --out") }
        return pa.appendingPathComponent("connectivity").path
    }

    func run() throws {
        let c = try config()
        let dir = try RunDirectory(path: try outputDirectory())
        let report = try ModeConnectivity.run(c, in: dir, options: runOptions.trainingOptions)
        try ConnectivityTables.markdown(report, model: c.training.model.rawValue, split: c.training.split)
            .write(toFile: dir.path("summary.md"), atomically: true, encoding: .utf8)
        try ConnectivityFigures.write(report, model: c.training.model.rawValue, in: dir)
    }
}
