import ArgumentParser
import Foundation
import ShearsIO

/// A command that runs in a run directory it names itself. `shears sweep` parses each point with
/// `Shears.parseAsRoot` and asks the parsed command where it would run, so that the naming stays the command's own.
/// Keep each conformance a thin call into the command's naming code (the same as its `run()` uses).
protocol RunDirectoryNaming {
    /// The run directory this command would run in (not created).
    func runDirectoryPath() throws -> String
    /// The file whose presence marks the run finished.
    var runFinishedFile: String { get }
}

extension RunDirectoryNaming {
    var runFinishedFile: String { "summary.json" }
}

extension RunOptions {
    /// The path `directory(prefix:nonDefault:)` opens, without creating it.
    func directoryPath(prefix: String, nonDefault: [String: String]) -> String {
        out ?? (runsRoot as NSString).appendingPathComponent(runDirectoryName(prefix: prefix, nonDefault: nonDefault))
    }
}

extension Train: RunDirectoryNaming {
    func runDirectoryPath() throws -> String {
        execution.directoryPath(prefix: "train", nonDefault: try makeConfig().nonDefaultFields)
    }
}

extension PruneIterative: RunDirectoryNaming {
    func runDirectoryPath() throws -> String {
        execution.directoryPath(prefix: "prune", nonDefault: try makeConfig().nonDefaultFields)
    }
}

extension PruneOracle: RunDirectoryNaming {
    func runDirectoryPath() throws -> String {
        execution.directoryPath(prefix: "oracle", nonDefault: try namedFields())
    }

    var runFinishedFile: String { "oracle.json" }
}

extension PruneGRDA: RunDirectoryNaming {
    func runDirectoryPath() throws -> String {
        execution.directoryPath(prefix: "grda", nonDefault: try makeConfig().nonDefaultFields)
    }
}

extension AnytimeRun: RunDirectoryNaming {
    func runDirectoryPath() throws -> String {
        let config = try makeConfig()
        return execution.directoryPath(prefix: "anytime-\(config.method.rawValue)", nonDefault: config.nonDefaultFields)
    }
}

extension PruneOneShot: RunDirectoryNaming {
    func runDirectoryPath() throws -> String {
        execution.directoryPath(prefix: "oneshot", nonDefault: try makeConfig().nonDefaultFields)
    }
}

extension PruneDynamic: RunDirectoryNaming {
    func runDirectoryPath() throws -> String {
        let config = try makeConfig()
        return execution.directoryPath(prefix: "dynamic-\(config.method.rawValue)", nonDefault: config.nonDefaultFields)
    }
}
