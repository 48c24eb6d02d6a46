import Foundation
import ShearsExperiments
import ShearsIO

/// Collects one section's blocks; gives every figure a report-wide unique file name and clip-path id (the charts are
/// inlined into one HTML page, where ids share one namespace).
struct SectionBuilder {
    var section: ReportSection
    let prefix: String

    /// The canvas every report chart is drawn on (readable at this size in a browser and as PNG).
    static let width = 640.0, height = 400.0

    init(title: String, index: Int) {
        section = ReportSection(title: title)
        prefix = String(format: "%02d", index)
    }

    private func figureName(_ stem: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        let slug = String(stem.lowercased().map { allowed.contains($0) ? $0 : "-" })
        var name = "\(prefix)-\(slug)", k = 2
        while section.figures.contains(where: { $0.name == name }) { name = "\(prefix)-\(slug)-\(k)"; k += 1 }
        return name
    }

    mutating func text(_ t: String) { section.blocks.append(.text(t)) }

    /// A chart title cut to what fits the canvas, the cut marked by "…": run names built from hyperparameters are long,
    /// and the section title carries the whole name. (Bold DejaVu Sans at 15 px takes up to ~11 px a character.)
    static func fitted(_ title: String) -> String {
        let fits = Int((width - 16) / 12)
        return title.count <= fits ? title : String(title.prefix(fits - 1)) + "…"
    }

    mutating func table(_ caption: String, header: [String], rows: [[String]]) {
        guard !rows.isEmpty else { return }
        section.blocks.append(.table(ReportTable(caption: caption, header: header, rows: rows)))
    }

    /// Adds a line chart unless it has no finite point.
    mutating func line(_ chart: SVGLineChart, name: String, caption: String) {
        guard chart.series.contains(where: { $0.points.contains { $0.0.isFinite && $0.1.isFinite } }) else { return }
        var c = chart
        let n = figureName(name)
        c.clipID = "clip-\(n)"; c.width = Self.width; c.height = Self.height; c.title = Self.fitted(c.title)
        // The palette has 10 colours: the second ten series are told apart by dashes.
        if c.series.count > c.palette.count { c.dashed.formUnion(c.palette.count..<min(c.series.count, 2 * c.palette.count)) }
        section.blocks.append(.figure(ReportFigure(name: n, caption: caption, svg: c.render())))
    }

    mutating func bars(_ chart: SVGBarChart, name: String, caption: String) {
        guard !chart.categories.isEmpty, !chart.series.isEmpty else { return }
        var c = chart
        c.width = Self.width; c.height = Self.height; c.title = Self.fitted(c.title)
        section.blocks.append(.figure(ReportFigure(name: figureName(name), caption: caption, svg: c.render())))
    }

    mutating func histogram(_ chart: SVGHistogramChart, name: String, caption: String) {
        guard !chart.series.isEmpty else { return }
        var c = chart
        let n = figureName(name)
        c.clipID = "clip-\(n)"; c.width = Self.width; c.height = Self.height; c.title = Self.fitted(c.title)
        // Empty bins at either end (common edges span cycle 0's ±4σ₀; activations are never negative) only squeeze the data.
        c.series = c.series.map { s in
            let n = min(s.values.count, max(0, s.edges.count - 1))
            guard let first = (0..<n).first(where: { s.values[$0] != 0 }), let last = (0..<n).last(where: { s.values[$0] != 0 }) else { return s }
            return (name: s.name, edges: Array(s.edges[first...(last + 1)]), values: Array(s.values[first...last]))
        }
        section.blocks.append(.figure(ReportFigure(name: n, caption: caption, svg: c.render())))
    }

    /// A figure rendered elsewhere (its clip ids must already be unique).
    mutating func svg(_ svg: String, name: String, caption: String) {
        section.blocks.append(.figure(ReportFigure(name: figureName(name), caption: caption, svg: svg)))
    }
}

/// Number formatting shared by the report's tables.
enum ReportFormat {
    /// A fraction as a percentage with 2 decimals ("97.12"); "–" when not finite.
    static func percent(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "–" }
        return String(format: "%.2f", 100 * x)
    }
    /// Mean ± std of fractions as percentages ("97.12 ± 0.35"; just the mean with a single run).
    static func percent(_ s: MeanStd) -> String {
        percent(s.mean) + (s.std.map { String(format: " ± %.2f", 100 * $0) } ?? "")
    }
    /// 4 significant digits; "–" when absent or not finite.
    static func number(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "–" }
        return String(format: "%.4g", x)
    }
    static func fixed(_ x: Double?, _ decimals: Int) -> String {
        guard let x, x.isFinite else { return "–" }
        return String(format: "%.\(decimals)f", x)
    }
}

/// Legend labels for several runs of one kind: the configuration fields whose values differ between them
/// ("lr=0.1, seed=1"), so that the chart says what was varied; the directory name when nothing differs, when more
/// than `maxFields` fields do, or when the labels would collide.
enum ReportLabels {
    static func labels(_ runs: [(name: String, config: (any Encodable)?)], maxFields: Int = 3) -> [String] {
        let names = runs.map(\.name)
        guard runs.count > 1 else { return names }
        let fields = runs.map { $0.config.map(flatten) ?? [:] }
        let keys = Set(fields.flatMap(\.keys)).sorted().filter { k in Set(fields.map { $0[k] ?? "–" }).count > 1 }
        guard !keys.isEmpty, keys.count <= maxFields, !fields.contains(where: \.isEmpty) else { return names }
        let labels = fields.map { f in keys.map { "\($0)=\(f[$0] ?? "–")" }.joined(separator: ", ") }
        return Set(labels).count == labels.count ? labels : names
    }

    /// The leaves of a config's JSON as `path=value` (the `training.` prefix dropped: it is where most fields live).
    static func flatten(_ config: any Encodable) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        guard let data = try? encoder.encode(config),
              let object = try? JSONSerialization.jsonObject(with: data) else { return [:] }
        var out: [String: String] = [:]
        func walk(_ v: Any, _ path: String) {
            if let d = v as? [String: Any], !d.isEmpty {
                for (k, x) in d { walk(x, path.isEmpty ? k : "\(path).\(k)") }
            } else if let s = v as? String {
                out[path] = s
            } else if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
                out[path] = String(decoding: data, as: UTF8.self)
            }
        }
        walk(object, "")
        var trimmed: [String: String] = [:]
        for (k, v) in out { trimmed[k.hasPrefix("training.") ? String(k.dropFirst("training.".count)) : k] = v }
        return trimmed
    }
}
