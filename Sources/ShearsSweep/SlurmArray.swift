import Foundation

/// `shears sweep --slurm`: one `sbatch --array` job whose task i runs point i of the points list
/// (`shears sweep exec STATE i`), so Slurm — not Shears — decides where and when each point runs.
public struct SlurmArray: Sendable {
    public var state: SweepState
    /// The shears binary the tasks run (on a cluster: a path every node sees).
    public var executable: String
    public var jobName: String
    /// Cores per task (`--cpus-per-task`), which is also each point's --threads.
    public var cpusPerTask: Int
    /// At most this many tasks at once (`%K`), or nil.
    public var maxConcurrent: Int?
    /// Extra sbatch arguments (partition, time, gres, account…), passed on sbatch's command line.
    public var sbatchArguments: [String]
    /// The directory the tasks start in (relative paths of the points resolve against it).
    public var workingDirectory: String

    public init(state: SweepState, executable: String, jobName: String, cpusPerTask: Int, maxConcurrent: Int?,
                sbatchArguments: [String], workingDirectory: String) {
        self.state = state
        self.executable = executable
        self.jobName = jobName
        self.cpusPerTask = cpusPerTask
        self.maxConcurrent = maxConcurrent
        self.sbatchArguments = sbatchArguments
        self.workingDirectory = workingDirectory
    }

    public var scriptPath: String { (state.slurmDirectory as NSString).appendingPathComponent("sweep.sbatch") }

    /// The array script for the points with these indices.
    public func script(indices: [Int]) -> String {
        let throttle = maxConcurrent.map { "%\($0)" } ?? ""
        return """
        #!/bin/bash
        # Written by `shears sweep --slurm`: array task i runs point i of \(state.listPath).
        #SBATCH --job-name=\(jobName)
        #SBATCH --array=\(Self.arraySpec(indices))\(throttle)
        #SBATCH --ntasks=1
        #SBATCH --cpus-per-task=\(cpusPerTask)
        #SBATCH --output=\(state.slurmDirectory)/%A_%a.out
        #SBATCH --chdir=\(workingDirectory)
        exec \(shellQuoted(executable)) sweep exec \(shellQuoted(state.directory)) "$SLURM_ARRAY_TASK_ID"

        """
    }

    /// The sbatch command line that submits the script (`--parsable`: it prints the job id alone).
    public var submitCommand: [String] { ["sbatch", "--parsable"] + sbatchArguments + [scriptPath] }

    /// `0-3,5,7-9`: the indices as Slurm's --array ranges.
    public static func arraySpec(_ indices: [Int]) -> String {
        var parts: [String] = [], sorted = indices.sorted()[...]
        while let first = sorted.popFirst() {
            var last = first
            while sorted.first == last + 1 { last = sorted.removeFirst() }
            parts.append(first == last ? "\(first)" : "\(first)-\(last)")
        }
        return parts.joined(separator: ",")
    }

    /// Writes the script and runs sbatch; returns the job id, or throws sbatch's message.
    public func submit(indices: [Int]) throws -> String {
        do { try script(indices: indices).write(toFile: scriptPath, atomically: true, encoding: .utf8) } catch {
            throw SweepError(scriptPath, "cannot write the Slurm script: \(error.localizedDescription)")
        }
        let (status, output) = try Self.command(submitCommand)
        guard status == 0, let id = output.split(separator: ";").first.map(String.init), !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw SweepError("sbatch", "refused the job (exit \(status)): \(output)")
        }
        return id
    }

    /// Polls `squeue` every `interval` seconds until job `id` has left the queue (every task ended). sbatch --wait
    /// would do the same, but polls every 10 s or more.
    public static func waitForJob(_ id: String, interval: Double = 1) throws {
        while true {
            let (status, output) = try command(["squeue", "--noheader", "--jobs", id, "--format", "%i %T"])
            // squeue exits non-zero for a job id it no longer knows (the job ended long ago).
            if status != 0 || output.isEmpty { return }
            usleep(useconds_t(interval * 1_000_000))
        }
    }

    /// Runs a Slurm client command; its exit status and its output (stdout and stderr, trimmed).
    static func command(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            throw SweepError(arguments[0], "cannot run \(arguments[0]): \(error.localizedDescription)")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            throw SweepError(arguments[0], "not found on PATH: install Slurm's client commands (Debian: slurm-client) or run with --jobs")
        }
        return (process.terminationStatus, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
