import Foundation
import ShearsExperiments
import ShearsIO

/// A directory with `connectivity.json`.
public struct ConnectivityRunData {
    public var path: String, name: String
    public var record: ConnectivityReport
    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        record = try f.json(ConnectivityReport.self, "connectivity.json")
        let c = record.curve
        guard [c.trainLoss, c.trainError, c.testLoss, c.testError].allSatisfy({ $0.count == c.t.count }) else {
            throw IOError(path: f.file("connectivity.json"), "curve: trainLoss, trainError, testLoss and testError need one value per t "
                          + "(\(c.t.count)), got \([c.trainLoss, c.trainError, c.testLoss, c.testError].map(\.count))")
        }
        if let p = record.plane {
            for (name, grid) in [("trainLoss", p.trainLoss), ("trainError", p.trainError), ("testLoss", p.testLoss), ("testError", p.testError)]
            where grid.count != p.ys.count || grid.contains(where: { $0.count != p.xs.count }) {
                throw IOError(path: f.file("connectivity.json"), "plane.\(name) must have \(p.ys.count) rows (ys) of \(p.xs.count) values (xs)")
            }
        }
    }
}

extension Report {
    /// Mode connectivity: loss and error along the curve from one solution to the other, and the plane's contours with
    /// the curve and its bends on top.
    static func connectivitySection(_ r: ConnectivityRunData, index: Int) -> ReportSection {
        let rec = r.record, c = rec.curve
        var b = SectionBuilder(title: "Mode connectivity: \(rec.startLabel) → \(rec.endLabel) (\(r.name))", index: index)
        b.text("Bézier curve from \(rec.start) (t = 0, \(rec.startLabel)) to \(rec.end) (t = 1, \(rec.endLabel)), \(c.t.count) points.")
        b.line(SVGLineChart(title: "Loss along the curve: \(rec.startLabel) → \(rec.endLabel)", xLabel: "curve parameter t (0 = \(rec.startLabel), 1 = \(rec.endLabel))",
                            yLabel: "cross-entropy loss (nats per example)",
                            series: [(name: "train loss", points: Array(zip(c.t, c.trainLoss))),
                                     (name: "test loss", points: Array(zip(c.t, c.testLoss)))]),
               name: "curve-loss", caption: "Train and test loss along the curve.")
        b.line(SVGLineChart(title: "Error along the curve: \(rec.startLabel) → \(rec.endLabel)", xLabel: "curve parameter t (0 = \(rec.startLabel), 1 = \(rec.endLabel))",
                            yLabel: "error (%)",
                            series: [(name: "train error", points: zip(c.t, c.trainError).map { ($0, 100 * $1) }),
                                     (name: "test error", points: zip(c.t, c.testError).map { ($0, 100 * $1) })]),
               name: "curve-error", caption: "Train and test error along the curve.")
        let worst = c.testError.indices.max { c.testError[$0] < c.testError[$1] }
        b.table("Along the curve", header: ["", "t", "train loss", "train error (%)", "test loss", "test error (%)"],
                rows: [("start", c.t.indices.first), ("largest test error", worst), ("end", c.t.indices.last)].compactMap { name, i in
                    i.map { [name, ReportFormat.fixed(c.t[$0], 3), ReportFormat.number(c.trainLoss[$0]), ReportFormat.percent(c.trainError[$0]),
                             ReportFormat.number(c.testLoss[$0]), ReportFormat.percent(c.testError[$0])] }
                })
        b.table("Barrier along the curve (maximum minus the larger end)", header: ["measure", "start", "end", "max (at t)", "barrier"],
                rows: [["train loss", ReportFormat.number(rec.trainLoss.start), ReportFormat.number(rec.trainLoss.end),
                        "\(ReportFormat.number(rec.trainLoss.max)) (\(ReportFormat.fixed(rec.trainLoss.argmaxT, 3)))", ReportFormat.number(rec.trainLoss.barrier)],
                       ["test error (%)", ReportFormat.percent(rec.testError.start), ReportFormat.percent(rec.testError.end),
                        "\(ReportFormat.percent(rec.testError.max)) (\(ReportFormat.fixed(rec.testError.argmaxT, 3)))",
                        ReportFormat.percent(rec.testError.barrier)]])
        if let p = rec.plane { addPlane(&b, p, rec) }
        return b.section
    }
}

extension Report {
    /// The plane through the three bends: train loss (log colours) and test error as contour maps, each with the curve
    /// and the bends drawn on top.
    static func addPlane(_ b: inout SectionBuilder, _ p: ConnectivityPlane, _ rec: ConnectivityReport) {
        let curve = p.curve.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
        let bends = p.bends.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
        let overlays = [SVGContourChart.Overlay(name: "curve", points: curve, joined: true),
                        SVGContourChart.Overlay(name: "bends", points: bends, joined: false,
                                                labels: [rec.startLabel, "θ", rec.endLabel].prefix(bends.count).map { $0 })]
        let xLabel = "distance along \(rec.startLabel) → \(rec.endLabel) (weight-space units)"
        let yLabel = "distance towards the middle bend (weight-space units)"
        for (grid, what, log, stem) in [(p.trainLoss, "train loss (nats per example)", true, "plane-train-loss"),
                                        (p.testError.map { $0.map { 100 * $0 } }, "test error (%)", false, "plane-test-error")] {
            var chart = SVGContourChart(title: "Plane through the bends: \(what)", xLabel: xLabel, yLabel: yLabel, valueLabel: what,
                                        xs: p.xs, ys: p.ys, values: grid, logScale: log, overlays: overlays)
            chart.width = SectionBuilder.width + 120; chart.height = SectionBuilder.height + 80
            b.svg(uniqueClip(chart.render(), id: "plane", stem: "\(b.prefix)-\(stem)"), name: stem,
                  caption: "\(what) on a \(p.xs.count)×\(p.ys.count) grid of the plane through the curve's three bends, "
                      + "the trained curve and its bends on top.")
        }
    }

    /// The SVG with its clip-path id `id` renamed (several charts inlined into one page must not share an id).
    static func uniqueClip(_ svg: String, id: String, stem: String) -> String {
        svg.replacingOccurrences(of: "id=\"\(id)\"", with: "id=\"clip-\(stem)\"")
            .replacingOccurrences(of: "url(#\(id))", with: "url(#clip-\(stem))")
    }
}
