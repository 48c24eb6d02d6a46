import Foundation
import ShearsIO

/// The names of the files the protocols write that the report reads. They are the protocols' own constants (internal
/// to ShearsExperiments); `ReportFileNamesTests` checks that each still equals its original.
enum RunFileNames {
    static let cycles = "cycles.jsonl"                  // IterativePruning.recordsFile
    static let megabatches = "megabatches.jsonl"        // AnytimeProgressivePruning.recordsFile
    static let distributions = "distributions"          // IterativePruning.distributionsDirectory
}

/// One `metrics.jsonl` read for the report through `JSONLines`: its rows with NaN and ±Inf kept, so that a diverged
/// run shows as diverged, and what a reader must be told about the file.
public struct MetricsFile: Sendable {
    public var path: String
    public var rows: [[String: Double]]
    /// The file's line number of every row.
    public var lineNumbers: [Int]
    /// A cut-short last line (a killed writer) that was left out.
    public var partialLastLine: Int?

    /// Reads `path`; no rows when it does not exist. Throws the `IOError` naming the file and line of an unreadable row.
    public init(_ path: String) throws {
        self.path = path
        let content = try JSONLines.rows(path, ifMissing: .empty)
        rows = content.elements; lineNumbers = content.lineNumbers; partialLastLine = content.partialLastLine
    }

    public init(path: String, rows: [[String: Double]]) {
        self.path = path; self.rows = rows; lineNumbers = rows.indices.map { $0 + 1 }
    }

    /// The first row with a non-finite value: where the run diverged, or nil.
    public var firstNonFinite: (row: [String: Double], line: Int, keys: [String])? {
        for (row, line) in zip(rows, lineNumbers) {
            let bad = row.keys.filter { !row[$0]!.isFinite }.sorted()
            if !bad.isEmpty { return (row, line, bad) }
        }
        return nil
    }

    /// "diverged at step 200 (epoch 2), line 3 of metrics.jsonl: train_loss = NaN; 4 of 9 rows hold non-finite values",
    /// or nil when every value is finite.
    public var divergence: String? {
        guard let (row, line, keys) = firstNonFinite else { return nil }
        let at = [row["step"].map { "step \(Self.plain($0))" }, row["epoch"].map { "epoch \(Self.plain($0))" }].compactMap { $0 }
        let count = rows.filter { $0.values.contains { !$0.isFinite } }.count
        return "diverged at " + (at.isEmpty ? "line \(line)" : at[0] + (at.count > 1 ? " (\(at[1]))" : "") + ", line \(line)")
            + " of \((path as NSString).lastPathComponent): " + keys.map { "\($0) = \(Self.plain(row[$0]!))" }.joined(separator: ", ")
            + "; \(count) of \(rows.count) rows hold non-finite values"
    }

    /// Sentences for a section's text: the divergence and a left-out last line, each naming the file.
    public var notes: [String] {
        var out: [String] = []
        if let d = divergence { out.append("\(path): DIVERGED: \(d) (non-finite points are left out of the charts).") }
        if let p = partialLastLine {
            out.append("\(path): line \(p) was cut short (a killed writer) and is left out; resuming the run trims it.")
        }
        return out
    }

    /// A number as a person writes it: "200", "2.5", "NaN", "Infinity", "-Infinity".
    static func plain(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
        return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
