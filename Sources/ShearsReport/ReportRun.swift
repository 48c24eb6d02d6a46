import Foundation
import ShearsAnalysis
import ShearsExperiments
import ShearsIO
import ShearsPrune

/// A run directory read for `shears report`, recognised by the files its command writes.
public enum ReportRun {
    case training(TrainingRunData)
    case iterative(IterativeRunData)
    case pointPruning(PointPruningRunData)
    case structured(StructuredRunData)
    case oracle(OracleRunData)
    case directional(DirectionalRunData)
    case anytime(AnytimeRunData)
    case analysis(AnalysisRunData)
    case connectivity(ConnectivityRunData)

    /// What each kind is recognised by, in the order they are tried (the message for an unknown directory lists them).
    public static let recognisedFiles = [
        "connectivity.json (analyze connectivity)", "oracle.json (prune oracle)", "megabatches.jsonl (anytime)",
        "sgd/, grda/ or gmp/ with metrics.jsonl (prune grda)", "summary.json with per_run or run_0/cycles.jsonl (prune iterative)",
        "config.json of prune oneshot or prune dynamic", "summary.json of prune structured",
        "hessian.json or projection.json (analyze hessian|projection)", "metrics.jsonl + config.json (train)",
    ]

    public var kind: String {
        switch self {
        case .training: return "train"
        case .iterative: return "prune iterative"
        case .pointPruning(let r): return r.command
        case .structured: return "prune structured"
        case .oracle: return "prune oracle"
        case .directional: return "prune grda"
        case .anytime: return "anytime"
        case .analysis: return "analyze hessian/projection"
        case .connectivity: return "analyze connectivity"
        }
    }

    public var path: String {
        switch self {
        case .training(let r): return r.path
        case .iterative(let r): return r.path
        case .pointPruning(let r): return r.path
        case .structured(let r): return r.path
        case .oracle(let r): return r.path
        case .directional(let r): return r.path
        case .anytime(let r): return r.path
        case .analysis(let r): return r.path
        case .connectivity(let r): return r.path
        }
    }

    /// The same run named `name` (given as NAME=DIR) instead of its directory's name.
    func named(_ name: String) -> ReportRun {
        switch self {
        case .training(var r): r.name = name; return .training(r)
        case .iterative(var r): r.name = name; r.labelled = true; return .iterative(r)
        case .pointPruning(var r): r.name = name; r.labelled = true; return .pointPruning(r)
        case .structured(var r): r.name = name; return .structured(r)
        case .oracle(var r): r.name = name; return .oracle(r)
        case .directional(var r): r.name = name; return .directional(r)
        case .anytime(var r): r.name = name; r.labelled = true; return .anytime(r)
        case .analysis(var r): r.name = name; return .analysis(r)
        case .connectivity(var r): r.name = name; return .connectivity(r)
        }
    }

    /// Reads the run directory at `path`. A directory that is no run of a known kind but whose subdirectories are (a
    /// folder of runs such as `runs/app/`) gives each of them, in name order. Throws `ReportError` naming the directory
    /// and the files looked for when neither, and the file's `IOError` when a file is not what its kind writes.
    public static func load(_ path: String) throws -> [ReportRun] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ReportError("\(path): no such run directory")
        }
        guard isDir.boolValue else { throw ReportError("\(path): is a file, expected a run directory") }
        if let run = try loadOne(path) { return [run] }
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
            .map { (path as NSString).appendingPathComponent($0) }
            .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && d.boolValue }
        let runs = try children.compactMap { try loadOne($0) }
        guard runs.isEmpty else { return runs }
        throw ReportError("\(path): not a run directory of a kind `shears report` knows, nor a folder of them; looked for "
                          + recognisedFiles.joined(separator: ", "))
    }

    /// The run at `path`, or nil when it holds none of the recognised files.
    static func loadOne(_ path: String) throws -> ReportRun? {
        let f = ReportFiles(path)
        if f.exists("connectivity.json") { return .connectivity(try ConnectivityRunData(f)) }
        if f.exists("oracle.json") { return .oracle(try OracleRunData(f)) }
        if f.exists(RunFileNames.megabatches) { return .anytime(try AnytimeRunData(f)) }
        if DirectionalPruning.Phase.allCases.contains(where: { f.exists("\($0.rawValue)/metrics.jsonl") }) {
            return .directional(try DirectionalRunData(f))
        }
        if f.exists("run_0/\(RunFileNames.cycles)") { return .iterative(try IterativeRunData(f)) }
        if f.exists("summary.json"), f.exists("config.json"),
           (try? f.json(IterativePruningSummary.self, "summary.json")) != nil {
            return .iterative(try IterativeRunData(f))
        }
        // Before `train`: a one-shot or dynamic run also has metrics.jsonl and config.json, but not a training config.
        if let point = try PointPruningRunData.load(f) { return .pointPruning(point) }
        if let structured = StructuredRunData.load(f) { return .structured(structured) }
        if f.exists("hessian.json") || f.exists("projection.json") || f.exists("projection_along.json") { return .analysis(try AnalysisRunData(f)) }
        if f.exists(RunDirectory.metricsJSONL), f.exists("config.json") { return .training(try TrainingRunData(f)) }
        return nil
    }
}

/// Why a report could not be made (an unknown directory, a run without the data a section needs).
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Read-only access to the files of one run directory (never creates anything, unlike `RunDirectory`).
struct ReportFiles {
    let path: String
    var name: String { (path as NSString).lastPathComponent }

    init(_ path: String) { self.path = path }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }
    func sub(_ name: String) -> ReportFiles { ReportFiles(file(name)) }

    /// The subdirectories, in name order.
    func subdirectories() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().filter {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: file($0), isDirectory: &d) && d.boolValue
        }
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }()

    /// `name` decoded as a `T`; an `IOError` naming the file when it is missing or not what `T` expects.
    func json<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let p = file(name)
        guard let data = FileManager.default.contents(atPath: p) else { throw IOError(path: p, "missing (expected \(T.self) as JSON)") }
        do { return try Self.decoder.decode(T.self, from: data) } catch let e as DecodingError {
            throw IOError(path: p, "not valid JSON for \(T.self): \(RunDirectoryErrors.describe(e))")
        } catch {
            throw IOError(path: p, "not valid JSON for \(T.self): \(error)")
        }
    }

    /// `name` decoded as a `T` when it exists.
    func optionalJSON<T: Decodable>(_ type: T.Type, _ name: String) throws -> T? {
        exists(name) ? try json(type, name) : nil
    }

    /// Every line of a JSON-lines file decoded as a `T` (`JSONLines`: an unreadable line is an error naming the file
    /// and line; a killed writer's cut-short last line is left out). [] when the file does not exist.
    func jsonLines<T: Decodable>(_ type: T.Type, _ name: String) throws -> [T] {
        try JSONLines.records(T.self, file(name), ifMissing: .empty).elements
    }

    /// The metrics rows of `name` (NaN and ±Inf kept); no rows when the file does not exist.
    func metrics(_ name: String = RunDirectory.metricsJSONL) throws -> MetricsFile {
        try MetricsFile(file(name))
    }
}

/// `RunDirectory.describe` is internal to ShearsIO; the same wording for the report's own decoding errors.
enum RunDirectoryErrors {
    static func describe(_ e: DecodingError) -> String {
        func at(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "at the top level" : "at \(p.hasPrefix(".") ? String(p.dropFirst()) : p)"
        }
        switch e {
        case .keyNotFound(let key, let c): return "missing key \"\(key.stringValue)\" \(at(c))"
        case .typeMismatch(let type, let c): return "expected \(type) \(at(c))"
        case .valueNotFound(let type, let c): return "expected \(type) \(at(c)), found null"
        case .dataCorrupted(let c): return "\(c.debugDescription) \(at(c))"
        @unknown default: return "\(e)"
        }
    }
}

// MARK: - The data of each kind

/// `shears train`: config.json (TrainingConfig), metrics.jsonl, summary.json when finished.
public struct TrainingRunData {
    public var path: String, name: String
    public var config: TrainingConfig
    public var metricsFile: MetricsFile
    public var metrics: [[String: Double]] { metricsFile.rows }
    public var summary: TrainingSummary?
    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        config = try f.json(TrainingConfig.self, "config.json")
        metricsFile = try f.metrics()
        summary = try f.optionalJSON(TrainingSummary.self, "summary.json")
    }
}

/// `shears prune iterative`: the summary (or, for an unfinished run, statistics from every run's cycles.jsonl), and
/// run 0's metrics, sparsity reports and distributions.
public struct IterativeRunData {
    public var path: String, name: String
    /// Whether `name` was given on the command line (NAME=DIR) rather than taken from the directory.
    public var labelled = false
    public var config: IterativePruningConfig
    /// Every cycle's statistics over the runs (summary.json's, or recomputed from the runs' cycles.jsonl).
    public var levels: [PruningLevel]
    /// Runs the statistics are over.
    public var runCount: Int
    /// Whether summary.json was there (false: recomputed from run_<r>/cycles.jsonl of an unfinished run).
    public var finished: Bool
    public var firstRunMetrics: [[String: Double]]
    /// What every run's metrics.jsonl says about divergence or a cut-short line (`MetricsFile.notes`).
    public var metricsNotes: [String]
    /// (cycle, report) of run 0's sparsity/cycle_<m>.json, by cycle.
    public var sparsity: [(cycle: Int, report: SparsityReport)]
    /// Fig. 1 histograms (common edges when written, else Sturges') and their statistics, when probed.
    public var distributions: [CycleDistribution]
    public var distributionsOnCommonEdges: Bool
    public var distributionStats: [CycleDistributionStats]

    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        config = try f.json(IterativePruningConfig.self, "config.json")
        if let s = try f.optionalJSON(IterativePruningSummary.self, "summary.json") {
            levels = s.cycles.map(PruningLevel.init); runCount = s.runs; finished = true
        } else {
            (levels, runCount) = try Self.levelsOfUnfinished(f, runs: config.runs)
            finished = false
        }
        let run0 = f.sub("run_0")
        firstRunMetrics = try run0.metrics().rows
        metricsNotes = try (0..<max(1, config.runs)).flatMap { try f.sub("run_\($0)").metrics().notes }
        sparsity = try (0...max(0, config.cycles)).compactMap { m in
            try run0.optionalJSON(SparsityReport.self, "sparsity/cycle_\(m).json").map { (m, $0) }
        }
        let dist = run0.sub(RunFileNames.distributions)
        if let common = try dist.optionalJSON([CycleDistribution].self, "common.json") {
            distributions = common; distributionsOnCommonEdges = true
        } else {
            distributions = try dist.optionalJSON([CycleDistribution].self, "sturges.json") ?? []
            distributionsOnCommonEdges = false
        }
        distributionStats = try dist.optionalJSON([CycleDistributionStats].self, "stats.json") ?? []
    }

    /// Mean ± std per cycle from every run's cycles.jsonl (a run still going has no summary.json), and the number of
    /// runs that have records.
    static func levelsOfUnfinished(_ f: ReportFiles, runs: Int) throws -> ([PruningLevel], Int) {
        var perRun: [[CycleRecord]] = []
        for r in 0..<runs where f.exists("run_\(r)/\(RunFileNames.cycles)") {
            perRun.append(try f.sub("run_\(r)").jsonLines(CycleRecord.self, RunFileNames.cycles))
        }
        let cycles = Set(perRun.flatMap { $0.map(\.cycle) }).sorted()
        return (cycles.map { m in PruningLevel(cycle: m, records: perRun.compactMap { $0.first { $0.cycle == m } }) }, perRun.count)
    }
}

/// `shears prune oracle`: oracle.json and config.json.
public struct OracleRunData {
    public var path: String, name: String
    public var summary: OracleSummary
    public var config: OracleConfig?
    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        summary = try f.json(OracleSummary.self, "oracle.json")
        config = try f.optionalJSON(OracleConfig.self, "config.json")
    }
}

/// `shears prune grda`: config, summary (when finished), each phase's metrics and result, and any hessian.json /
/// projection.json in its subdirectories (where `shears analyze` was pointed).
public struct DirectionalRunData {
    public var path: String, name: String
    public var config: DirectionalPruningConfig?
    public var summary: DirectionalPruningSummary?
    public var phases: [(phase: String, metrics: [[String: Double]], result: DirectionalPhaseResult?)]
    /// What the phases' metrics.jsonl say about divergence or a cut-short line (`MetricsFile.notes`).
    public var metricsNotes: [String]
    public var analyses: [AnalysisRunData]
    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        config = try f.optionalJSON(DirectionalPruningConfig.self, "config.json")
        summary = try f.optionalJSON(DirectionalPruningSummary.self, "summary.json")
        let names = DirectionalPruning.Phase.allCases.map(\.rawValue).filter { f.exists("\($0)/\(RunDirectory.metricsJSONL)") }
        let files = try names.map { try f.sub($0).metrics() }
        phases = try zip(names, files).map { p, m in (p, m.rows, try f.sub(p).optionalJSON(DirectionalPhaseResult.self, "result.json")) }
        metricsNotes = files.flatMap(\.notes)
        analyses = try f.subdirectories().filter {
            f.exists("\($0)/hessian.json") || f.exists("\($0)/projection.json") || f.exists("\($0)/projection_along.json")
        }.map { try AnalysisRunData(f.sub($0)) }
    }
}

/// `shears anytime`: config, summary (when finished) and the per-megabatch records.
public struct AnytimeRunData {
    public var path: String, name: String
    /// Whether `name` was given on the command line (NAME=DIR) rather than taken from the directory.
    public var labelled = false
    public var config: AnytimeConfig
    public var summary: AnytimeSummary?
    public var records: [MegabatchRecord]
    /// What metrics.jsonl says about divergence or a cut-short line (`MetricsFile.notes`).
    public var metricsNotes: [String]
    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        config = try f.json(AnytimeConfig.self, "config.json")
        summary = try f.optionalJSON(AnytimeSummary.self, "summary.json")
        records = try summary?.records ?? f.jsonLines(MegabatchRecord.self, RunFileNames.megabatches)
        metricsNotes = try f.metrics().notes
    }
}

/// `shears analyze hessian` / `projection`: hessian.json and/or projection.json.
public struct AnalysisRunData {
    public var path: String, name: String
    public var hessian: HessianReport?
    public var projection: ProjectionReport?
    /// `analyze projection --along`: eq. 13 at every snapshot.
    public var projectionAlong: [ProjectionAlongPoint]?
    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        hessian = try f.optionalJSON(HessianReport.self, "hessian.json")
        projection = try f.optionalJSON(ProjectionReport.self, "projection.json")
        projectionAlong = try f.optionalJSON([ProjectionAlongPoint].self, "projection_along.json")
    }
}
