import Foundation

/// Progress output: a one-line bar redrawn in place on a terminal (epoch, step, loss, accuracy, img/s, ETA),
/// plain log lines otherwise (files, CI), so logs stay readable.
public final class ProgressReporter {
    public let isTerminal: Bool
    private let total: Int
    private var lastDraw = 0.0
    private let start = Date()
    private var startIteration: Int

    public init(totalIterations: Int, startIteration: Int, forceMode isTerminal: Bool? = nil) {
        self.isTerminal = isTerminal ?? (isatty(STDOUT_FILENO) == 1)
        self.total = totalIterations
        self.startIteration = startIteration
    }

    /// Called every iteration; redraws at most 10 times a second on a terminal, silent otherwise. `overall` adds the
    /// whole command's ETA (every run, cycle, phase or megabatch) after this training's own.
    public func step(iteration: Int, epoch: Double, loss: Float, accuracy: Double, imagesPerSecond: Double, label: String = "",
                     epochs: Double? = nil, overall: OverallProgress? = nil) {
        guard isTerminal else { return }
        let now = Date().timeIntervalSince1970
        guard now - lastDraw > 0.1 || iteration == total else { return }
        lastDraw = now
        let rate = Double(iteration - startIteration) / max(Date().timeIntervalSince(start), 1e-9)
        let line = "\r" + render(iteration: iteration, epoch: epoch, loss: loss, accuracy: accuracy, imagesPerSecond: imagesPerSecond,
                                 label: label, epochs: epochs, eta: rate > 0 ? Double(total - iteration) / rate : .infinity,
                                 overall: overall.map { ($0.fraction(at: iteration), $0.eta(at: iteration)) })
        FileHandle.standardOutput.write(Data(line.utf8))
        if iteration == total { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    /// The bar's text: "run 2/3 · cycle 4/10 · ██··· ep 1.20/2  it 120/200  loss …  ETA 00:04  · all 27% ETA 00:40".
    func render(iteration: Int, epoch: Double, loss: Float, accuracy: Double, imagesPerSecond: Double, label: String,
                epochs: Double?, eta: Double, overall: (fraction: Double, eta: Double)?) -> String {
        let width = 24
        let filled = Int(Double(iteration) / Double(max(total, 1)) * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let epochText = epochs.map { String(format: "ep %.2f/%@", epoch, Self.number($0)) } ?? String(format: "ep %.2f", epoch)
        var line = String(format: "%@%@ %@  it %d/%d  loss %.4f  acc %.2f%%  %.0f img/s  ETA %@", label.isEmpty ? "" : label + " · ",
                          bar, epochText, iteration, total, loss, 100 * accuracy, imagesPerSecond, Self.clock(eta))
        if let overall { line += String(format: "  · all %.0f%% ETA %@", 100 * overall.fraction, Self.clock(overall.eta)) }
        return line
    }

    /// A line that must always appear (evaluations, resume notices). Clears the bar first on a terminal.
    public func line(_ text: String) {
        let prefix = isTerminal ? "\r\u{1B}[2K" : ""
        FileHandle.standardOutput.write(Data((prefix + text + "\n").utf8))
    }

    static func number(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%.2f", x) }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%02d:%02d", s / 60, s % 60)
    }
}

/// Where a command stands in all of its trainings (every run and cycle of iterative pruning, every trial of the oracle,
/// every gRDA phase, every APP megabatch), counted in training iterations, so the bar can give the ETA of the whole
/// command and not only of the training under way. The rate is this process's own (iterations trained since it
/// started, over the wall time since then, evaluations and pruning included), so a resumed command estimates from
/// its own speed, and the iterations done before a resume count as done.
public final class OverallProgress {
    /// The command's training iterations, all trainings together.
    public var total: Int
    /// Iterations of the command done when the training under way is at its own iteration 0 (earlier trainings, less
    /// a rewound start: a cycle that starts at iteration K has trained none of its first K).
    public var offset = 0
    private var trained = 0
    private let start = Date()

    public init(total: Int) { self.total = total }

    /// Sets the training under way: `before` iterations of the command precede it, and it starts at iteration `from`.
    public func enter(before: Int, startingAt from: Int = 0) { offset = before - from }

    func stepped() { trained += 1 }
    func fraction(at iteration: Int) -> Double { min(1, Double(offset + iteration) / Double(max(total, 1))) }
    func eta(at iteration: Int) -> Double {
        let rate = Double(trained) / max(Date().timeIntervalSince(start), 1e-9)
        return rate > 0 ? Double(max(0, total - offset - iteration)) / rate : .infinity
    }
}
