import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsIO
import ShearsOptim

/// How and where a run executes — flags shared by `shears train` and `shears prune …`. None of them changes the
/// results, so none of them is part of the run's configuration or name.
struct RunOptions: ParsableArguments {
    @Option(help: "Threads for the kernels.") var threads: Int = 2
    @Option(help: "Batches prepared ahead on a background thread (0: on demand). Does not change results.") var prefetch: Int = 2
    @Option(help: "Run directory (default: named from the non-default hyperparameters under --runs-root).") var out: String?
    @Option(help: "Where named run directories go.") var runsRoot: String = "runs"

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        guard (0...64).contains(prefetch) else { throw ValidationError("--prefetch must be between 0 and 64, got \(prefetch)") }
        if let out, out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out must name a directory, got an empty string") }
        guard !runsRoot.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--runs-root must name a directory, got an empty string") }
    }

    /// `--out`, or `<runs-root>/<prefix>_<hash>_<non-default fields>` so that the same command finds the same directory.
    func directory(prefix: String, nonDefault: [String: String]) throws -> RunDirectory {
        try RunDirectory(path: directoryPath(prefix: prefix, nonDefault: nonDefault))
    }

    /// Runs `body` in the run directory: refuses to continue a run made with another --threads (kernels' sums
    /// depend on it, so results would not be bit-identical), logs a failure to the run's log.txt as well, and removes
    /// a directory this launch created when it fails before writing a checkpoint (no stale directories).
    func launch(prefix: String, nonDefault: [String: String], _ body: (RunDirectory, TrainingOptions) throws -> Void) throws {
        let path = directoryPath(prefix: prefix, nonDefault: nonDefault)
        let existed = FileManager.default.fileExists(atPath: path)
        let dir = try RunDirectory(path: path)
        // One process per run directory: a second one is refused at once, naming the holder.
        let lock: RunLock
        do { lock = try RunLock.acquire(directory: path) } catch {
            if !existed { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
        defer { lock.release() }
        do {
            try checkThreads(dir)
            try body(dir, trainingOptions)
        } catch {
            try? dir.log("error: \(error)")
            if !existed, !Self.holdsResults(path) { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
    }

    /// `execution.json` records the thread count of the run's first launch.
    func checkThreads(_ dir: RunDirectory) throws {
        struct Execution: Codable { var threads: Int }
        if let saved = try dir.readJSON(Execution.self, from: "execution.json") {
            guard saved.threads == threads else {
                throw ValidationError("\(dir.url.path) was run with --threads \(saved.threads); continue it with --threads \(saved.threads) "
                    + "(results depend on the thread count), or choose another --out")
            }
        } else {
            try dir.writeJSON(Execution(threads: threads), to: "execution.json")
        }
    }

    /// Whether a run directory holds anything but its config, log and execution record (a checkpoint, metrics, …).
    static func holdsResults(_ path: String) -> Bool {
        let names = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        let bookkeeping: Set<String> = ["config.json", "log.txt", "execution.json", "training_config.json", ".lock"]
        return names.contains { name in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(name), isDirectory: &isDirectory)
            return !isDirectory.boolValue && !bookkeeping.contains((name as NSString).lastPathComponent)
        }
    }

    var trainingOptions: TrainingOptions {
        var options = TrainingOptions()
        options.threads = threads
        options.prefetch = prefetch
        return options
    }
}

/// Parses a step flag ("80ep", "1000it", "1000", "20K"), naming the flag in the error.
func parseStep(_ text: String, flag: String) throws -> StepSpec {
    guard let s = StepSpec(parsing: text) else {
        throw ValidationError("\(flag): '\(text)' is not a step; expected e.g. 80ep, 1000it, 1000 or 20K")
    }
    return s
}
