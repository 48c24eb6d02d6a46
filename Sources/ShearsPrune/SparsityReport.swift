import Foundation
import ShearsTensor

/// Per-tensor and global remaining-weight counts (OpenLTH writes one `sparsity_report.json` per level; the
/// issue asks for one per cycle). Counts come from the mask; a listed parameter without a mask entry counts as
/// dense, so passing all of a model's parameters gives ShrinkBench-style whole-model figures. The rows always
/// add up to the totals.
public struct SparsityReport: Codable, Equatable, Sendable {
    public struct Row: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var total: Int
        public var remaining: Int
        public var density: Double
    }

    public var rows: [Row]
    public var totalRemaining: Int
    public var total: Int
    public var density: Double

    /// One row per entry of `parameters`, in that order.
    public init(mask: Mask, parameters: [(String, Variable)]) {
        rows = parameters.map { name, p in
            let total = p.value.count
            let remaining = mask[name].map(Mask.countOnes) ?? total
            return Row(name: name, shape: p.shape, total: total, remaining: remaining,
                       density: total == 0 ? 1 : Double(remaining) / Double(total))
        }
        total = rows.reduce(0) { $0 + $1.total }
        totalRemaining = rows.reduce(0) { $0 + $1.remaining }
        density = total == 0 ? 1 : Double(totalRemaining) / Double(total)
    }

    /// A Markdown table, one row per tensor plus a total row; densities in percent.
    public var markdown: String {
        var lines = ["| tensor | shape | remaining | total | density |", "|---|---|---:|---:|---:|"]
        for r in rows {
            lines.append("| \(r.name) | \(r.shape.map(String.init).joined(separator: "×")) | \(r.remaining) | \(r.total) | \(String(format: "%.2f %%", 100 * r.density)) |")
        }
        lines.append("| **total** | | \(totalRemaining) | \(total) | \(String(format: "%.2f %%", 100 * density)) |")
        return lines.joined(separator: "\n")
    }
}
