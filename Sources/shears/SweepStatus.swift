import ArgumentParser
import Foundation
import ShearsSweep

/// `shears sweep status SPEC.yaml`: every point as done / running / failed / waiting.
struct SweepStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each point of a sweep as done, running, failed (with its log's last line) or waiting.")

    @OptionGroup var sweep: SweepOptions

    func run() throws {
        let plan = try sweep.plan(threads: nil)
        let state = sweep.state(plan)
        let statuses = plan.points.map(state.status)
        let cwd = FileManager.default.currentDirectoryPath + "/"
        for (p, status) in zip(plan.points, statuses) {
            let dir = p.directory.hasPrefix(cwd) ? String(p.directory.dropFirst(cwd.count)) : p.directory
            var line = "\(status.word.padding(toLength: 8, withPad: " ", startingAt: 0)) \(p.index)  \(p.label)  \(dir)"
            switch status {
            case .running(let holder): line += "  (\(holder))"
            case .failed(let rc, let last):
                line += "\n           exit \(rc.map(String.init) ?? "unknown (killed?)"): \(last)\n           log: \(state.logPath(p))"
            default: break
            }
            print(line)
        }
        print(Self.summary(statuses))
    }

    /// `6 points: 4 done, 1 running, 1 failed, 0 waiting`.
    static func summary(_ statuses: [SweepState.PointStatus]) -> String {
        let words = ["done", "running", "failed", "waiting"]
        let counts = words.map { w in statuses.filter { $0.word == w }.count }
        return "\(statuses.count) points: " + zip(counts, words).map { "\($0) \($1)" }.joined(separator: ", ")
    }
}

/// `shears sweep report SPEC.yaml`: `shears report` (and, for iterative pruning, `prune compare`) over the finished points.
struct SweepReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Feed the sweep's finished runs to `shears report` (and `shears prune compare` for prune iterative).")

    @OptionGroup var sweep: SweepOptions
    @Option(help: "Output directory (default: <state-dir>/report).") var out: String?

    func run() throws {
        let plan = try sweep.plan(threads: nil)
        let finished = plan.points.filter(\.isDone)
        guard !finished.isEmpty else {
            throw ValidationError("no point of \(sweep.spec) has finished yet; see `shears sweep status \(sweep.spec)`")
        }
        let out = self.out ?? (sweep.state(plan).directory as NSString).appendingPathComponent("report")
        if finished.count < plan.points.count { print("reporting \(finished.count) of \(plan.points.count) points (the others have not finished)") }
        let dirs = finished.map(\.directory)
        var report = try Shears.parseAsRoot(["report"] + dirs + ["--out", out, "--title", "Sweep \(plan.spec.name)"])
        try report.run()
        if plan.spec.command.starts(with: ["prune", "iterative"]) {
            let md = (out as NSString).appendingPathComponent("compare.md"), svg = (out as NSString).appendingPathComponent("compare.svg")
            var compare = try Shears.parseAsRoot(["prune", "compare"] + dirs + ["--markdown", md, "--svg", svg, "--title", plan.spec.name])
            try compare.run()
            print(md)
            print(svg)
        }
    }
}
