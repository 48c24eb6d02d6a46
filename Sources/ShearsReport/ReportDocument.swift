import Foundation
import ShearsExperiments
import ShearsIO

/// One chart of a report: a file-name stem (unique in the report), a caption, and the SVG text.
public struct ReportFigure: Sendable {
    public var name: String
    public var caption: String
    public var svg: String
}

/// A table of a report: already formatted cells (the numbers are rounded where the table is built).
public struct ReportTable: Sendable {
    public var caption: String
    public var header: [String]
    public var rows: [[String]]
}

public enum ReportBlock: Sendable {
    case text(String)
    case figure(ReportFigure)
    case table(ReportTable)
}

/// One `##` section of the report: the runs of one kind (or one run), its charts and tables.
public struct ReportSection: Sendable {
    public var title: String
    public var blocks: [ReportBlock] = []

    public init(title: String) { self.title = title }

    public var figures: [ReportFigure] {
        blocks.compactMap { if case .figure(let f) = $0 { return f } else { return nil } }
    }
    public var tables: [ReportTable] {
        blocks.compactMap { if case .table(let t) = $0 { return t } else { return nil } }
    }
}

/// The whole report, written as one self-contained HTML page (SVG and CSS inline, no external URL) and as Markdown
/// that links the same charts as `figures/<name>.svg`.
public struct ReportDocument: Sendable {
    public var title: String
    /// The run directories read, with the kind each was recognised as.
    public var runs: [(path: String, kind: String)]
    public var sections: [ReportSection]

    public var figures: [ReportFigure] { sections.flatMap(\.figures) }

    /// Writes `report.html`, `report.md` and `figures/*.svg` into `directory` (created if needed); returns the paths of
    /// the HTML and Markdown files.
    @discardableResult
    public func write(to directory: String) throws -> (html: String, markdown: String) {
        let fm = FileManager.default
        let figures = (directory as NSString).appendingPathComponent("figures")
        do { try fm.createDirectory(atPath: figures, withIntermediateDirectories: true) } catch {
            throw IOError(path: figures, "cannot create the report's figures directory: \(error.localizedDescription)")
        }
        for f in self.figures {
            try Self.write(f.svg, to: (figures as NSString).appendingPathComponent("\(f.name).svg"))
        }
        let html = (directory as NSString).appendingPathComponent("report.html")
        let md = (directory as NSString).appendingPathComponent("report.md")
        try Self.write(self.html(), to: html)
        try Self.write(markdown(), to: md)
        return (html, md)
    }

    static func write(_ text: String, to path: String) throws {
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw IOError(path: path, "cannot write the report file: \(error.localizedDescription)")
        }
    }

    // MARK: Markdown

    public func markdown() -> String {
        var o = "# \(title)\n\n"
        o += "Run directories:\n\n" + runs.map { "- `\($0.path)` (\($0.kind))\n" }.joined() + "\n"
        for s in sections {
            o += "## \(s.title)\n\n"
            for b in s.blocks {
                switch b {
                case .text(let t): o += t + "\n\n"
                case .figure(let f): o += "![\(f.name)](figures/\(f.name).svg)\n\n*\(Self.markdownEscape(f.caption))*\n\n"
                case .table(let t):
                    o += "\(t.caption)\n\n"
                    o += "| " + t.header.map(Self.cellEscape).joined(separator: " | ") + " |\n"
                    o += "|" + String(repeating: "---|", count: t.header.count) + "\n"
                    for r in t.rows { o += "| " + r.map(Self.cellEscape).joined(separator: " | ") + " |\n" }
                    o += "\n"
                }
            }
        }
        return o
    }

    static func cellEscape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
    static func markdownEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "[", with: "\\[").replacingOccurrences(of: "]", with: "\\]")
    }

    // MARK: HTML

    static let css = """
    body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1400px; color: #222; }
    h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
    h2 { border-bottom: 1px solid #bbb; margin-top: 2em; }
    figure { display: inline-block; box-sizing: border-box; width: calc(50% - 1em); margin: .5em 1.5em 1em 0; vertical-align: top; }
    figure:nth-of-type(2n) { margin-right: 0; }
    figure svg { display: block; width: 100%; height: auto; }
    @media (max-width: 1100px) { figure { width: 100%; margin-right: 0; } }
    figcaption { font-size: .85em; color: #444; }
    table { border-collapse: collapse; margin: .5em 0 1.5em 0; font-size: .9em; }
    th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
    th { background: #f0f0f0; }
    td:first-child, th:first-child { text-align: left; }
    caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: .3em; }
    code { background: #f4f4f4; padding: 0 .2em; }
    """

    public func html() -> String {
        var o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>\(SVGLineChart.escape(title))</title>\n"
        o += "<style>\n\(Self.css)\n</style>\n</head>\n<body>\n<h1>\(SVGLineChart.escape(title))</h1>\n"
        o += "<p>Run directories:</p>\n<ul>\n"
        o += runs.map { "<li><code>\(SVGLineChart.escape($0.path))</code> (\(SVGLineChart.escape($0.kind)))</li>\n" }.joined()
        o += "</ul>\n<p>Sections:</p>\n<ol>\n"
        for (i, s) in sections.enumerated() { o += "<li><a href=\"#s\(i)\">\(SVGLineChart.escape(s.title))</a></li>\n" }
        o += "</ol>\n"
        for (i, s) in sections.enumerated() {
            o += "<section id=\"s\(i)\">\n<h2>\(SVGLineChart.escape(s.title))</h2>\n"
            for b in s.blocks {
                switch b {
                case .text(let t): o += "<p>\(SVGLineChart.escape(t))</p>\n"
                case .figure(let f):
                    o += "<figure id=\"\(SVGLineChart.escape(f.name))\">\n\(Self.inlineSVG(f.svg))<figcaption>\(SVGLineChart.escape(f.caption))</figcaption>\n</figure>\n"
                case .table(let t):
                    o += "<table>\n<caption>\(SVGLineChart.escape(t.caption))</caption>\n<tr>"
                    o += t.header.map { "<th>\(SVGLineChart.escape($0))</th>" }.joined() + "</tr>\n"
                    for r in t.rows { o += "<tr>" + r.map { "<td>\(SVGLineChart.escape($0))</td>" }.joined() + "</tr>\n" }
                    o += "</table>\n"
                }
            }
            o += "</section>\n"
        }
        return o + "</body>\n</html>\n"
    }

    /// The SVG without its XML declaration (not allowed inside HTML).
    static func inlineSVG(_ svg: String) -> String {
        guard svg.hasPrefix("<?xml"), let end = svg.range(of: "?>") else { return svg }
        return String(svg[end.upperBound...]).trimmingCharacters(in: .newlines) + "\n"
    }
}
