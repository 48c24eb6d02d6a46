import XCTest
import ShearsTensor
@testable import ShearsAnalysis

final class BezierCurveTests: XCTestCase {
    func testCoefficientsAreBernsteinAndSumToOne() {
        for t in stride(from: 0.0, through: 1.0, by: 0.1) {
            let c = QuadraticBezier.coefficients(t)
            XCTAssertEqual(c.start + c.middle + c.end, 1, accuracy: 1e-15)
            XCTAssertEqual(c.start, (1 - t) * (1 - t), accuracy: 1e-15)
            XCTAssertEqual(c.middle, 2 * t * (1 - t), accuracy: 1e-15)
            XCTAssertEqual(c.end, t * t, accuracy: 1e-15)
        }
        XCTAssertEqual(QuadraticBezier.coefficients(0.5).middle, 0.5)
    }

    func testPointHitsTheEndsAndIsHandComputedInBetween() {
        let a = Tensor(shape: [2, 2], scalars: [0, 1, 2, 3])
        let m = Tensor(shape: [2, 2], scalars: [4, 4, 4, 4])
        let b = Tensor(shape: [2, 2], scalars: [8, -8, 0, 1])
        XCTAssertEqual(QuadraticBezier.point(0, start: a, middle: m, end: b).scalars, a.scalars)
        XCTAssertEqual(QuadraticBezier.point(1, start: a, middle: m, end: b).scalars, b.scalars)
        // t = 0.25: 0.5625·a + 0.375·m + 0.0625·b.
        let p = QuadraticBezier.point(0.25, start: a, middle: m, end: b).scalars
        let expected: [Float] = [0.5625 * 0 + 1.5 + 0.5, 0.5625 + 1.5 - 0.5, 1.125 + 1.5 + 0, 1.6875 + 1.5 + 0.0625]
        for (x, y) in zip(p, expected) { XCTAssertEqual(x, y, accuracy: 1e-6) }
    }

    func testLengthWeightedMeanWeighsBySegmentLength() {
        // Segments of length 1 and 3: values 0→2 (mean 1) and 2→2 (mean 2) → (1·1 + 2·3)/4 = 1.75.
        let v = QuadraticBezier.lengthWeightedMean(values: [0, 2, 2], points: [[0, 0], [1, 0], [1, 3]])
        XCTAssertEqual(v, 1.75, accuracy: 1e-12)
        // A degenerate curve (all points equal) falls back to the plain mean.
        XCTAssertEqual(QuadraticBezier.lengthWeightedMean(values: [1, 2, 6], points: [[1], [1], [1]]), 3, accuracy: 1e-12)
    }

    func testPlaneAxesAndCoordinatesByHand() throws {
        // w0 = 0, w2 = (2, 0, 0), w1 = (1, 1, 1): u = e1, dx = 2, v = (0, 1, 1)/√2, dy = √2.
        let plane = try WeightPlane(start: [0, 0, 0], middle: [1, 1, 1], end: [2, 0, 0])
        XCTAssertEqual(plane.dx, 2, accuracy: 1e-12)
        XCTAssertEqual(plane.dy, 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(plane.u, [1, 0, 0])
        XCTAssertEqual(plane.v[1], 1 / 2.0.squareRoot(), accuracy: 1e-12)
        let m = plane.coordinates(of: [1, 1, 1])
        XCTAssertEqual(m.x, 1, accuracy: 1e-6); XCTAssertEqual(m.y, 2.0.squareRoot(), accuracy: 1e-6)
        let e = plane.coordinates(of: [2, 0, 0])
        XCTAssertEqual(e.x, 2, accuracy: 1e-6); XCTAssertEqual(e.y, 0, accuracy: 1e-6)
        // A point off the plane projects onto it; a point of the plane round-trips.
        let off = plane.coordinates(of: [0.5, 1, -1])
        XCTAssertEqual(off.x, 0.5, accuracy: 1e-6); XCTAssertEqual(off.y, 0, accuracy: 1e-6)
        let p = plane.point(x: 0.3, y: 0.7)
        let back = plane.coordinates(of: p)
        XCTAssertEqual(back.x, 0.3, accuracy: 1e-6); XCTAssertEqual(back.y, 0.7, accuracy: 1e-6)
    }

    func testPlaneRefusesDegenerateBends() {
        XCTAssertThrowsError(try WeightPlane(start: [1, 2], middle: [3, 3], end: [1, 2])) { e in
            XCTAssertTrue("\(e)".contains("start and end points are equal"), "\(e)")
        }
        XCTAssertThrowsError(try WeightPlane(start: [0, 0], middle: [1, 1], end: [2, 2])) { e in
            XCTAssertTrue("\(e)".contains("on the line"), "\(e)")
        }
        XCTAssertThrowsError(try WeightPlane(start: [0, 0], middle: [1], end: [2, 2])) { e in
            XCTAssertTrue("\(e)".contains("coordinates"), "\(e)")
        }
    }
}
