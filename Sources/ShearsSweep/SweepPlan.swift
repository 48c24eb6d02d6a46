import Foundation

/// One run of a sweep: the base command plus one value of every axis, and the run directory that command names.
public struct SweepPoint: Codable, Equatable, Sendable {
    /// Position in the expansion (the first axis varies slowest); a Slurm array task's index.
    public var index: Int
    /// The axis values, e.g. `seed=0 lr=0.05`.
    public var label: String
    /// The `shears` arguments (without `shears`).
    public var arguments: [String]
    /// The run directory, absolute and standardised.
    public var directory: String
    /// The file whose presence in `directory` marks the run finished (`summary.json`, `oracle.json`).
    public var doneFile: String

    public init(index: Int, label: String, arguments: [String], directory: String, doneFile: String) {
        self.index = index
        self.label = label
        self.arguments = arguments
        self.directory = directory
        self.doneFile = doneFile
    }

    public var isDone: Bool { FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(doneFile)) }
}

/// What a command would do with a point's arguments, as the command itself says (the CLI parses them).
public struct PointTarget: Equatable, Sendable {
    public var directory: String
    public var doneFile: String

    public init(directory: String, doneFile: String = "summary.json") {
        self.directory = directory
        self.doneFile = doneFile
    }
}

/// A spec expanded into its points, each checked by the command's own parser.
public struct SweepPlan: Sendable {
    public var spec: SweepSpec
    public var points: [SweepPoint]

    /// Points made by other code than `expand` (e.g. one oracle cycle's trials), to run with `LocalPool` or
    /// `SlurmArray` after `SweepState.write`.
    public init(spec: SweepSpec, points: [SweepPoint]) {
        self.spec = spec
        self.points = points
    }

    /// Every combination of axis values (first axis slowest), each appended to the base command with
    /// `--threads threads` unless the command or an axis sets --threads. `resolve` parses a point's arguments and
    /// names its run directory, or throws the parser's message. All the points' problems are reported together:
    /// per-point parser messages, then points that name the same run directory.
    public static func expand(_ spec: SweepSpec, file: String, threads: Int?,
                              resolve: ([String]) throws -> PointTarget) throws -> SweepPlan {
        var points: [SweepPoint] = [], problems: [String] = []
        for (index, combination) in combinations(spec.axes.map(\.values.count)).enumerated() {
            var arguments = spec.command, labels: [String] = []
            for (axis, choice) in zip(spec.axes, combination) {
                labels.append("\(axis.name)=\(axis.values[choice].label)")
                arguments += axis.values[choice].arguments
            }
            if let threads, !arguments.contains(where: { $0 == "--threads" || $0.hasPrefix("--threads=") }) {
                arguments += ["--threads", String(threads)]
            }
            let label = labels.joined(separator: " ")
            do {
                let target = try resolve(arguments)
                let dir = URL(fileURLWithPath: target.directory).standardizedFileURL.path
                points.append(SweepPoint(index: index, label: label, arguments: arguments, directory: dir, doneFile: target.doneFile))
            } catch {
                problems.append("point \(index) (\(label)): \(error)")
            }
        }
        problems += duplicates(points)
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "\n  ")
            let more = problems.count > 20 ? "\n  … and \(problems.count - 20) more" : ""
            throw SweepError(file, "\(problems.count) problem(s) with the sweep's points:\n  \(shown)\(more)")
        }
        return SweepPlan(spec: spec, points: points)
    }

    /// Mixed-radix counting, the first digit slowest.
    static func combinations(_ radices: [Int]) -> [[Int]] {
        guard !radices.contains(0) else { return [] }
        var result: [[Int]] = [], digits = [Int](repeating: 0, count: radices.count)
        while true {
            result.append(digits)
            var i = radices.count - 1
            while i >= 0 {
                digits[i] += 1
                if digits[i] < radices[i] { break }
                digits[i] = 0
                i -= 1
            }
            if i < 0 { return result }
        }
    }

    private static func duplicates(_ points: [SweepPoint]) -> [String] {
        var byDirectory: [String: [SweepPoint]] = [:]
        for p in points { byDirectory[p.directory, default: []].append(p) }
        return byDirectory.values.filter { $0.count > 1 }.sorted { $0[0].index < $1[0].index }.map { group in
            let which = group.map { "\($0.index) (\($0.label))" }.joined(separator: ", ")
            return "points \(which) name the same run directory \(group[0].directory): they would be one run "
                + "(values the command treats as equal, or --out in the base command)"
        }
    }
}
