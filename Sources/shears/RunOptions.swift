import ArgumentParser
import Foundation
import ShearsDistributed
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim

/// How and where a run executes — flags shared by `shears train` and `shears prune …`. None of them changes the
/// results, so none of them is part of the run's configuration or name.
struct RunOptions: ParsableArguments {
    @Option(help: "Threads for the kernels.") var threads: Int = 2
    @Option(help: "Batches prepared ahead on a background thread (0: on demand). Does not change results.") var prefetch: Int = 2
    @Option(help: "Run directory (default: named from the non-default hyperparameters under --runs-root).") var out: String?
    @Option(help: "Where named run directories go.") var runsRoot: String = "runs"
    @Flag(help: ArgumentHelp("Under mpirun: batch norm normalises with the global batch's statistics (two small allreduces per "
        + "layer) instead of each rank's own, PyTorch DDP's default. Changes nothing in one process."))
    var syncBatchNorm = false
    @Option(help: ArgumentHelp("Pruned layers train on the sparse kernels: auto (per layer where one forward + backward measured "
        + "faster, at each pruning event), on (every masked layer) or off (dense masked kernels). Results agree with off to "
        + "float rounding (docs/sparse-training.md)."))
    var sparseKernels: SparseKernelMode = .off

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
    /// Under `mpirun -np N` (docs/distributed.md) this process is one rank of a data-parallel job: rank 0 runs the
    /// command as above and alone writes the directory; the other ranks run it in a private copy (`launchReplica`).
    /// `finishedFile` marks a finished run (`RunDirectoryNaming.runFinishedFile`): one is only reported, whatever
    /// --threads, rank count or --sparse-kernels ask for it.
    func launch(prefix: String, nonDefault: [String: String], finishedFile: String = "summary.json",
                _ body: (RunDirectory, TrainingOptions) throws -> Void) throws {
        let world = try DataParallelRun.join(syncBatchNorm: syncBatchNorm)
        SparseKernelsRun.mode = sparseKernels
        let path = directoryPath(prefix: prefix, nonDefault: nonDefault)
        if world.rank > 0 { return try launchReplica(of: path, world: world, finishedFile: finishedFile, body) }
        let existed = FileManager.default.fileExists(atPath: path)
        let dir = try RunDirectory(path: path)
        // One process per run directory: a second one is refused at once, naming the holder.
        let lock: RunLock
        do { lock = try RunLock.acquire(directory: path) } catch {
            if !existed { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
        defer { lock.release() }
        if world.size > 1 {
            try world.barrier()   // the directory is ours and as the last launch left it: the other ranks copy it now
            try world.barrier()   // they have; from here on rank 0 writes
        }
        do {
            try checkThreads(dir, ranks: world.size, finishedFile: finishedFile)
            try body(dir, trainingOptions)
        } catch {
            try? dir.log("error: \(error)")
            if !existed, !Self.holdsResults(path) { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
    }

    /// Ranks 1 … N−1 of an mpirun job. Rank 0 alone writes the run directory; each other rank runs the same command,
    /// quietly, in a private copy of what the directory held when the job started (its checkpoint included, so a job
    /// started again after a kill resumes on every rank from the same point) and removes the copy at the end. Every
    /// rank computes the same thing, so the copies evolve as rank 0's directory does.
    func launchReplica(of path: String, world: Communicator, finishedFile: String,
                       _ body: (RunDirectory, TrainingOptions) throws -> Void) throws {
        try world.barrier()   // rank 0 holds the lock and has not written yet
        let fm = FileManager.default
        let copy = fm.temporaryDirectory.appendingPathComponent("shears-rank\(world.rank)-\(getpid())").path
        try? fm.removeItem(atPath: copy)
        if fm.fileExists(atPath: path) {
            try fm.copyItem(atPath: path, toPath: copy)
            try? fm.removeItem(atPath: (copy as NSString).appendingPathComponent(".lock"))
        }
        try world.barrier()
        defer { try? fm.removeItem(atPath: copy) }
        var options = trainingOptions
        options.quiet = true
        options.terminalProgress = false
        let dir = try RunDirectory(path: copy)
        try checkThreads(dir, ranks: world.size, finishedFile: finishedFile)
        try body(dir, options)
    }

    /// `execution.json` records the thread count and the number of ranks of the run's first launch; continuing a run
    /// with others is refused. A finished run (its summary.json written) is only reported, so any of them may ask for it
    /// (a sweep script re-run with another --threads goes past the finished points instead of failing on them).
    func checkThreads(_ dir: RunDirectory, ranks: Int = 1, finishedFile: String = "summary.json") throws {
        struct Execution: Codable { var threads: Int; var ranks: Int?; var sparseKernels: String? }
        if let saved = try dir.readJSON(Execution.self, from: "execution.json") {
            if dir.fileExists(finishedFile) { return }
            guard saved.threads == threads else {
                throw ValidationError("\(dir.url.path) was run with --threads \(saved.threads); continue it with --threads \(saved.threads) "
                    + "(results depend on the thread count), or choose another --out")
            }
            let savedKernels = saved.sparseKernels ?? SparseKernelMode.off.rawValue
            guard savedKernels == sparseKernels.rawValue else {
                throw ValidationError("\(dir.url.path) was run with --sparse-kernels \(savedKernels); continue it with the same "
                    + "(the kernels' sums run in another order), or choose another --out")
            }
            let savedRanks = saved.ranks ?? 1
            guard savedRanks == ranks else {
                throw ValidationError("\(dir.url.path) was run on \(savedRanks) rank\(savedRanks == 1 ? "" : "s") (mpirun -np); continue it "
                    + "on \(savedRanks) (the shards, hence the sums, depend on it), or choose another --out")
            }
        } else {
            try dir.writeJSON(Execution(threads: threads, ranks: ranks == 1 ? nil : ranks,
                                        sparseKernels: sparseKernels == .off ? nil : sparseKernels.rawValue), to: "execution.json")
        }
    }

    /// Whether a run directory holds anything but its config, log and execution record (a checkpoint, metrics, …).
    static func holdsResults(_ path: String) -> Bool {
        let names = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        let bookkeeping: Set<String> = ["config.json", "log.txt", "execution.json", "training_config.json", ".lock"]
        return names.contains { name in
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(name), isDirectory: &isDirectory)
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
