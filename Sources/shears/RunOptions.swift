import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsIO

/// How and where a run executes — flags shared by `shears train` and `shears prune …`. None of them changes the
/// results, so none of them is part of the run's configuration or name.
struct RunOptions: ParsableArguments {
    @Option(help: "Threads for the kernels.") var threads: Int = 2
    @Option(help: "Batches prepared ahead on a background thread (0: on demand). Does not change results.") var prefetch: Int = 2
    @Option(help: "Run directory (default: named from the non-default hyperparameters under --runs-root).") var out: String?
    @Option(help: "Where named run directories go.") var runsRoot: String = "runs"

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        guard prefetch >= 0 else { throw ValidationError("--prefetch must be ≥ 0, got \(prefetch)") }
    }

    /// `--out`, or `<runs-root>/<prefix>_<hash>_<non-default fields>` so that the same command finds the same directory.
    func directory(prefix: String, nonDefault: [String: String]) throws -> RunDirectory {
        try RunDirectory(path: out ?? (runsRoot as NSString).appendingPathComponent(runDirectoryName(prefix: prefix, nonDefault: nonDefault)))
    }

    var trainingOptions: TrainingOptions {
        var options = TrainingOptions()
        options.threads = threads
        options.prefetch = prefetch
        return options
    }
}

/// Parses a step flag ("80ep", "1000it", "1000"), naming the flag in the error.
func parseStep(_ text: String, flag: String) throws -> StepSpec {
    guard let s = StepSpec(parsing: text) else {
        throw ValidationError("\(flag): '\(text)' is not a step; expected e.g. 80ep, 1000it or 1000")
    }
    return s
}
