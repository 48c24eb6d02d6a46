import Foundation

/// `shears sweep --jobs K`: up to K points at a time, each in its own `shears sweep exec` subprocess (so a point
/// that crashes takes only itself down, and each holds its own run-directory lock). Returns when all have ended.
public struct LocalPool {
    public var executable: String
    public var state: SweepState
    public var jobs: Int

    public init(executable: String, state: SweepState, jobs: Int) {
        self.executable = executable
        self.state = state
        self.jobs = jobs
    }

    /// How one point's worker ended.
    public enum Outcome: Equatable, Sendable {
        case finished
        case failed(Int32)
        /// Another process holds its run directory.
        case busy
    }

    /// Runs `points` (in order, `jobs` at a time); `progress` hears one line per point as it ends.
    public func run(_ points: [SweepPoint], progress: (String) -> Void) throws -> [Int: Outcome] {
        var pending = points[...], running: [(SweepPoint, Process, Date)] = [], outcomes: [Int: Outcome] = [:]
        let ended = DispatchSemaphore(value: 0), start = Date()
        while !pending.isEmpty || !running.isEmpty {
            while running.count < jobs, let p = pending.popFirst() {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = ["sweep", "exec", state.directory, String(p.index)]
                process.terminationHandler = { _ in ended.signal() }
                do { try process.run() } catch {
                    throw SweepError(executable, "cannot start a worker for point \(p.index): \(error.localizedDescription)")
                }
                running.append((p, process, Date()))
            }
            ended.wait()
            for (i, entry) in running.enumerated().reversed() where !entry.1.isRunning {
                running.remove(at: i)
                let outcome = finish(entry.0, entry.1)
                outcomes[entry.0.index] = outcome
                progress(Self.counter(done: outcomes.count, of: points.count, elapsed: Date().timeIntervalSince(start))
                         + " " + describe(entry.0, outcome, seconds: Date().timeIntervalSince(entry.2)))
            }
        }
        return outcomes
    }

    private func finish(_ p: SweepPoint, _ process: Process) -> Outcome {
        let status = process.terminationStatus
        if process.terminationReason == .uncaughtSignal {
            // The worker could not record this itself.
            try? state.recordExit(p, status: 128 + status)
            if let h = FileHandle(forWritingAtPath: state.logPath(p)) {
                h.seekToEndOfFile()
                h.write(Data("=== worker killed by signal \(status)\n".utf8))
                try? h.close()
            }
            return .failed(128 + status)
        }
        if status == PointExecution.busyStatus { return .busy }
        return status == 0 ? .finished : .failed(status)
    }

    /// "[3/12 · ETA 04:10]": points ended of the points run, and the time the rest should take at the pool's rate so far
    /// (ended points per second of the whole pool, so `jobs` workers in parallel count as such).
    static func counter(done: Int, of total: Int, elapsed: Double) -> String {
        guard done < total else { return "[\(done)/\(total)]" }
        let s = Int((elapsed / Double(max(done, 1)) * Double(total - done)).rounded())
        let eta = s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%02d:%02d", s / 60, s % 60)
        return "[\(done)/\(total) · ETA \(eta)]"
    }

    private func describe(_ p: SweepPoint, _ outcome: Outcome, seconds: Double) -> String {
        let head = "point \(p.index) (\(p.label))"
        switch outcome {
        case .finished: return "\(head): done in \(String(format: "%.1f", seconds)) s → \(p.directory)"
        case .busy: return "\(head): skipped, its run directory is locked by another process"
        case .failed(let s): return "\(head): FAILED (exit \(s)): \(state.lastLine(of: state.logPath(p)))  [log: \(state.logPath(p))]"
        }
    }
}
