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

    /// Called every iteration; redraws at most 10 times a second on a terminal, silent otherwise.
    public func step(iteration: Int, epoch: Double, loss: Float, accuracy: Double, imagesPerSecond: Double, label: String = "") {
        guard isTerminal else { return }
        let now = Date().timeIntervalSince1970
        guard now - lastDraw > 0.1 || iteration == total else { return }
        lastDraw = now
        let done = Double(iteration) / Double(max(total, 1))
        let width = 24
        let filled = Int(done * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let rate = Double(iteration - startIteration) / max(Date().timeIntervalSince(start), 1e-9)
        let eta = rate > 0 ? Double(total - iteration) / rate : .infinity
        let line = String(format: "\r%@%@ ep %.2f  it %d/%d  loss %.4f  acc %.2f%%  %.0f img/s  ETA %@",
                          label.isEmpty ? "" : label + " · ", bar, epoch, iteration, total, loss, 100 * accuracy, imagesPerSecond, Self.clock(eta))
        FileHandle.standardOutput.write(Data(line.utf8))
        if iteration == total { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    /// A line that must always appear (evaluations, resume notices). Clears the bar first on a terminal.
    public func line(_ text: String) {
        let prefix = isTerminal ? "\r\u{1B}[2K" : ""
        FileHandle.standardOutput.write(Data((prefix + text + "\n").utf8))
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%02d:%02d", s / 60, s % 60)
    }
}
