import ArgumentParser
import Foundation
import ShearsIO
import ShearsSweep

/// `shears sweep [run] SPEC.yaml`: runs (or resumes) every point not finished yet.
struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run or resume a sweep: a local pool (--jobs K) or one Slurm array job (--slurm).")

    @OptionGroup var sweep: SweepOptions
    @Option(help: "Points at once: local workers; with --slurm, the array's limit of simultaneous tasks (%K).") var jobs: Int?
    @Option(help: "--threads of each point (unless the spec sets it; default: cores / jobs locally, 1 on Slurm).") var threads: Int?
    @Flag(help: "Submit one sbatch --array job (one task per unfinished point) instead of running locally.") var slurm = false
    @Option(parsing: .unconditional, help: "Extra sbatch arguments, e.g. \"--partition=gpu --time=02:00:00 --gres=gpu:1\".") var slurmArgs: String = ""
    @Flag(help: "With --slurm: wait until every task has ended, then print the status.") var wait = false
    @Flag(help: "Print the points (or, with --slurm, the script and the sbatch command) and run nothing.") var dryRun = false
    @Option(help: "The shears binary the workers run (default: this one).") var shearsBinary: String?

    func validate() throws {
        if let jobs, !(1...4096).contains(jobs) { throw ValidationError("--jobs must be between 1 and 4096, got \(jobs)") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        if !slurm && (wait || !slurmArgs.isEmpty) { throw ValidationError("--wait and --slurm-args go with --slurm") }
        if let first = try splitCommandLine(slurmArgs, file: "--slurm-args").first, !first.hasPrefix("-") {
            throw ValidationError("--slurm-args must be sbatch options such as --partition=gpu, got '\(first)'")
        }
    }

    /// Threads per point: the flag, else cores divided among the local workers, else 1 per Slurm task.
    var pointThreads: Int {
        if let threads { return threads }
        if slurm { return 1 }
        return max(1, ProcessInfo.processInfo.activeProcessorCount / (jobs ?? 1))
    }

    /// The binary the workers run; it must exist here (on a cluster, at the same path on every node).
    func workerBinary() throws -> String {
        let path = shearsBinary ?? currentExecutable()
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SweepError(path, "--shears-binary: not an executable file (expected the shears binary the workers run)")
        }
        return path
    }

    func run() throws {
        let plan = try sweep.plan(threads: pointThreads)
        let state = sweep.state(plan)
        var todo: [SweepPoint] = [], done = 0, elsewhere: [String] = []
        for p in plan.points {
            if p.isDone { done += 1; continue }
            if let holder = RunLock.holder(of: p.directory) { elsewhere.append("point \(p.index) (\(p.label)): \(holder)"); continue }
            todo.append(p)
        }
        print("sweep \(plan.spec.name): \(plan.points.count) points, \(done) done, \(elsewhere.count) running elsewhere, "
              + "\(todo.count) to run (state: \(state.directory))")
        for line in elsewhere { print("  running elsewhere — \(line)") }
        if dryRun && !slurm {
            for p in todo { print("  point \(p.index) (\(p.label)): shears \(p.arguments.map(shellQuoted).joined(separator: " "))\n    → \(p.directory)") }
            return
        }
        guard !todo.isEmpty else { return }
        if !dryRun { try state.write(plan) }
        if slurm { try submit(todo, state: state, plan: plan) } else { try runLocally(todo, state: state) }
    }

    private func runLocally(_ todo: [SweepPoint], state: SweepState) throws {
        let workers = jobs ?? 1
        print("running \(todo.count) points, \(workers) at a time, \(pointThreads) thread(s) each; logs in \(state.directory)/logs")
        let pool = LocalPool(executable: try workerBinary(), state: state, jobs: workers)
        let outcomes = try pool.run(todo) { print($0); fflush(stdout) }
        let failed = outcomes.values.filter { if case .failed = $0 { return true } else { return false } }.count
        let busy = outcomes.values.filter { $0 == .busy }.count
        print("sweep: \(outcomes.count - failed - busy) finished, \(failed) failed, \(busy) skipped (locked by another process)")
        if failed > 0 { throw ExitCode(1) }
    }

    private func submit(_ todo: [SweepPoint], state: SweepState, plan: SweepPlan) throws {
        let array = SlurmArray(state: state, executable: try workerBinary(), jobName: "shears-\(plan.spec.name)",
                               cpusPerTask: pointThreads, maxConcurrent: jobs, sbatchArguments: try splitCommandLine(slurmArgs),
                               workingDirectory: FileManager.default.currentDirectoryPath)
        let indices = todo.map(\.index), submit = array.submitCommand.map(shellQuoted).joined(separator: " ")
        if dryRun {
            print("# \(array.scriptPath)")
            print(array.script(indices: indices), terminator: "")
            print("# submit with: \(submit)")
            return
        }
        print("submitting \(indices.count) array tasks: \(submit)")
        let job = try array.submit(indices: indices)
        print("Submitted batch job \(job)")
        guard wait else {
            print("follow it with: shears sweep status \(sweep.spec)\(sweep.stateDir.map { " --state-dir \($0)" } ?? "")")
            return
        }
        try SlurmArray.waitForJob(job)
        let statuses = plan.points.map(state.status)
        for (p, status) in zip(plan.points, statuses) where status == .waiting && indices.contains(p.index) {
            // The task ended without its worker starting (e.g. the binary is not where the node looks).
            let out = (state.slurmDirectory as NSString).appendingPathComponent("\(job)_\(p.index).out")
            print("point \(p.index) (\(p.label)): its task ended before the worker started; \(out): \(state.lastLine(of: out))")
        }
        print(SweepStatusCommand.summary(statuses))
        if statuses.contains(where: { $0 != .done }) { throw ExitCode(1) }
    }
}
