import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsIO
import ShearsSweep

/// Where `prune oracle` runs the trials of a cycle (they are independent: the same start, one max_lr each): here one
/// after another (the default), in `--jobs K` worker processes, or as one Slurm array per cycle (`--slurm`) — the
/// machinery of `shears sweep` (docs/cluster.md), each trial a point whose directory is
/// `trials/cycle_<m>/max_lr_<v>/`, run by `shears prune oracle-trial`. The pool's own files (points, logs, exit
/// statuses, the sbatch script) go to `trials/cycle_<m>/pool/`.
struct OracleTrialOptions: ParsableArguments {
    @Option(help: "Trials of a cycle at once, in worker processes (each with --threads); with --slurm, the array's limit of simultaneous tasks.")
    var jobs: Int?
    @Flag(help: "Run each cycle's trials as one Slurm array (sbatch) and wait for it; the oracle itself stays in this process.")
    var slurm = false
    @Option(parsing: .unconditional, help: "Extra sbatch arguments for --slurm, e.g. \"--partition=cpu --time=01:00:00\".")
    var slurmArgs: String = ""

    func validate() throws {
        if let jobs, !(1...4096).contains(jobs) { throw ValidationError("--jobs must be between 1 and 4096, got \(jobs)") }
        if !slurm && !slurmArgs.isEmpty { throw ValidationError("--slurm-args goes with --slurm") }
        if let first = try splitCommandLine(slurmArgs, file: "--slurm-args").first, !first.hasPrefix("-") {
            throw ValidationError("--slurm-args must be sbatch options such as --partition=cpu, got '\(first)'")
        }
    }

    var isExternal: Bool { slurm || (jobs ?? 1) > 1 }

    /// The runner for `SCycOracle.run`, nil to train the trials in this process.
    func runner(oracle dir: RunDirectory, threads: Int, prefetch: Int, say: @escaping (String) -> Void) -> OracleTrialRunner? {
        guard isExternal else { return nil }
        return { cycle, peaks in
            let state = SweepState(directory: dir.path("trials/cycle_\(cycle)/pool"))
            let points = peaks.enumerated().map { i, peak in
                SweepPoint(index: i, label: "cycle=\(cycle) max_lr=\(peak)",
                           arguments: ["prune", "oracle-trial", dir.url.path, "--cycle", String(cycle), "--max-lr", String(peak),
                                       "--threads", String(threads), "--prefetch", String(prefetch)],
                           directory: URL(fileURLWithPath: dir.path("trials/cycle_\(cycle)/max_lr_\(peak)")).standardizedFileURL.path,
                           doneFile: "trial.json")
            }
            try state.write(points: points)
            if slurm { try runOnSlurm(points, state: state, cycle: cycle, threads: threads, say: say) } else {
                say("oracle cycle \(cycle): \(points.count) trials, \(jobs ?? 1) at a time (logs in \(state.directory)/logs)")
                let outcomes = try LocalPool(executable: currentExecutable(), state: state, jobs: jobs ?? 1).run(points) { say($0) }
                if let bad = points.first(where: { outcomes[$0.index] != .finished }) {
                    throw SweepError(state.logPath(bad), "the oracle's trial \(bad.label) did not finish: \(state.lastLine(of: state.logPath(bad)))")
                }
            }
        }
    }

    private func runOnSlurm(_ points: [SweepPoint], state: SweepState, cycle: Int, threads: Int, say: (String) -> Void) throws {
        let array = SlurmArray(state: state, executable: currentExecutable(), jobName: "shears-oracle-c\(cycle)", cpusPerTask: threads,
                               maxConcurrent: jobs, sbatchArguments: try splitCommandLine(slurmArgs),
                               workingDirectory: FileManager.default.currentDirectoryPath)
        let job = try array.submit(indices: points.map(\.index))
        say("oracle cycle \(cycle): Slurm job \(job), \(points.count) array tasks (\(array.submitCommand.map(shellQuoted).joined(separator: " ")))")
        try SlurmArray.waitForJob(job)
        if let bad = points.first(where: { !$0.isDone }) {
            let out = (state.slurmDirectory as NSString).appendingPathComponent("\(job)_\(bad.index).out")
            throw SweepError(state.logPath(bad), "the oracle's trial \(bad.label) did not finish in Slurm job \(job): "
                + "\(state.lastLine(of: state.logPath(bad))) (task output: \(out))")
        }
    }
}

/// `shears prune oracle-trial DIR --cycle m --max-lr v`: one trial of the oracle in DIR, as a `--jobs` worker or a
/// Slurm array task runs it (`SCycOracle.runTrial`); not for typing by hand.
struct PruneOracleTrial: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle-trial",
        abstract: "One trial of a prune oracle run (what its --jobs workers and Slurm tasks run).",
        shouldDisplay: false)

    @Argument(help: "The oracle's run directory.") var directory: String
    @Option(help: "The cycle.") var cycle: Int
    @Option(help: "The trial's max_lr (a value of the oracle's grid).") var maxLr: Double
    @Option(help: "Threads for the kernels (the oracle's).") var threads: Int = 2
    @Option(help: "Batches prepared ahead on a background thread.") var prefetch: Int = 2

    func validate() throws {
        guard cycle >= 0 else { throw ValidationError("--cycle must be at least 0, got \(cycle)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(directory): no such directory; expected a prune oracle run directory")
        }
        let dir = try RunDirectory(path: directory)
        let config: OracleConfig
        do {
            guard let c = try dir.readJSON(OracleConfig.self, from: "config.json") else {
                throw ValidationError("\(dir.path("config.json")) is missing: \(directory) is not a prune oracle directory")
            }
            config = c
        } catch let e as IOError {
            throw ValidationError("\(directory) is not a prune oracle directory: \(e.description)")
        }
        var options = TrainingOptions()
        options.threads = threads
        options.prefetch = prefetch
        options.terminalProgress = false
        let trial = try SCycOracle.runTrial(config, in: dir, cycle: cycle, peak: maxLr, options: options)
        print(String(format: "oracle cycle %d max_lr %g: best val acc %.2f%%%@", cycle, maxLr, 100 * trial.bestValidationAccuracy,
                     trial.diverged ? " (diverged)" : ""))
    }
}
