import ArgumentParser
import Foundation
import ShearsIO
import ShearsSweep

/// `shears sweep`: a grid of runs from SPEC.yaml, run by a local worker pool or a Slurm array (docs/cluster.md).
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every combination of a spec's axes (a local pool with --jobs, or a Slurm array with --slurm).",
        discussion: """
        SPEC.yaml holds a base command and axes of flag values (see docs/cluster.md). Each point runs in the run \
        directory its command names, so re-running the sweep resumes it: finished points are skipped, unfinished \
        ones resume from their checkpoints, and a point another process is running is left to it.
        """,
        subcommands: [SweepRun.self, SweepStatusCommand.self, SweepReport.self, SweepExec.self],
        defaultSubcommand: SweepRun.self)
}

/// The spec and where the sweep keeps its own files; shared by the sweep's subcommands.
struct SweepOptions: ParsableArguments {
    @Argument(help: "The sweep's spec (YAML: command, axes, optional name).") var spec: String
    @Option(help: "The sweep's own files: points list, logs, exit statuses, Slurm script (default: runs/sweeps/<name>).")
    var stateDir: String?

    /// The spec expanded into points, each checked by the command's own parser.
    func plan(threads: Int?) throws -> SweepPlan {
        let spec = try SweepSpec.read(path: self.spec)
        return try SweepPlan.expand(spec, file: self.spec, threads: threads, resolve: Self.target)
    }

    func state(_ plan: SweepPlan) -> SweepState {
        SweepState(directory: stateDir ?? "runs/sweeps/\(plan.spec.name)")
    }

    /// Where the command in `arguments` would run, as it says itself.
    static func target(_ arguments: [String]) throws -> PointTarget {
        let command: ParsableCommand
        do { command = try Shears.parseAsRoot(arguments) } catch {
            throw SweepError("shears \(arguments.first ?? "")", Shears.message(for: error))
        }
        guard let naming = command as? RunDirectoryNaming else {
            throw SweepError("shears \(arguments.prefix(2).joined(separator: " "))",
                             "does not run in a run directory; a sweep's command is train, prune iterative, prune oneshot, prune dynamic, prune oracle, prune grda or anytime")
        }
        return PointTarget(directory: try naming.runDirectoryPath(), doneFile: naming.runFinishedFile)
    }
}

/// The path of the running `shears` binary (what workers and Slurm tasks run).
func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// `shears sweep exec STATE INDEX`: what one worker runs — point INDEX of the points list, in this process.
struct SweepExec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run one point of a sweep's points list (what each local worker and Slurm array task runs).")

    @Argument(help: "The sweep's state directory (holding points.jsonl).") var stateDir: String
    @Argument(help: "The point's index (a Slurm array task's SLURM_ARRAY_TASK_ID).") var index: Int

    func validate() throws {
        guard index >= 0 else { throw ValidationError("INDEX must be ≥ 0, got \(index)") }
    }

    func run() throws {
        let status = PointExecution.run(state: SweepState(directory: stateDir), index: index, command: Self.runInProcess)
        if status != 0 { throw ExitCode(status) }
    }

    /// Runs `shears ARGUMENTS` in this process, returning the exit status the command line would give.
    static func runInProcess(_ arguments: [String]) -> Int32 {
        do {
            var command = try Shears.parseAsRoot(arguments)
            try command.run()
            return 0
        } catch {
            fflush(stdout)
            let message = Shears.fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
            return Shears.exitCode(for: error).rawValue
        }
    }
}
