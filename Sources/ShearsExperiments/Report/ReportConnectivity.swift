import Foundation
import ShearsIO

/// `connectivity.json` of `shears analyze connectivity`: the losses and errors along the Bézier curve joining two
/// solutions, and optionally the plane through its three control points sampled on a grid (errors are fractions).
public struct ConnectivityRecord: Decodable, Sendable {
    public struct Curve: Decodable, Sendable {
        public var t: [Double]
        public var trainLoss: [Double]
        public var trainError: [Double]
        public var testLoss: [Double]
        public var testError: [Double]
    }
    public struct Plane: Decodable, Sendable {
        public var xs: [Double]
        public var ys: [Double]
        /// Row j is y = ys[j], column i is x = xs[i].
        public var trainLoss: [[Double]]
        public var trainError: [[Double]]
        public var testError: [[Double]]
        /// The curve's three control points (start, middle, end) and the curve itself in plane coordinates.
        public var bends: [[Double]]
        public var curve: [[Double]]
    }
    public var start: String
    public var end: String
    public var startLabel: String
    public var endLabel: String
    public var curve: Curve
    public var plane: Plane?
}

/// A directory with `connectivity.json`.
public struct ConnectivityRunData {
    public var path: String, name: String
    public var record: ConnectivityRecord
    init(_ f: ReportFiles) throws {
        path = f.path; name = f.name
        record = try f.json(ConnectivityRecord.self, "connectivity.json")
        let c = record.curve
        guard [c.trainLoss, c.trainError, c.testLoss, c.testError].allSatisfy({ $0.count == c.t.count }) else {
            throw IOError(path: f.file("connectivity.json"), "curve: trainLoss, trainError, testLoss and testError need one value per t "
                          + "(\(c.t.count)), got \([c.trainLoss, c.trainError, c.testLoss, c.testError].map(\.count))")
        }
        if let p = record.plane {
            for (name, grid) in [("trainLoss", p.trainLoss), ("trainError", p.trainError), ("testError", p.testError)]
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
        //PLANE
        return b.section
    }
}
