import Foundation
@testable import ShearsData
import XCTest

/// Area (shrink) and bilinear (enlarge) taps, sizes and crop offsets against hand-derived numbers.
final class ResamplingTests: XCTestCase {
    private func taps(_ input: Int, _ output: Int) -> [([Int], [Float])] {
        Resampling.taps(input: input, output: output, range: 0..<output).map { ($0.indices, $0.weights) }
    }

    func testAreaTapsAreOverlapFractions() {
        let half = taps(4, 2)
        XCTAssertEqual(half.map(\.0), [[0, 1], [2, 3]])
        XCTAssertEqual(half.map(\.1), [[0.5, 0.5], [0.5, 0.5]])
        // 3 → 2: output 0 covers source [0, 1.5): pixel 0 whole (1/1.5) and half of pixel 1 (0.5/1.5).
        let t = taps(3, 2)
        XCTAssertEqual(t.map(\.0), [[0, 1], [1, 2]])
        for (got, want) in zip(t.flatMap(\.1), [Float(2) / 3, Float(1) / 3, Float(1) / 3, Float(2) / 3]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
    }

    func testBilinearTapsUseHalfPixelCentres() {
        // 2 → 4: x = (i + 0.5)/2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        let t = taps(2, 4)
        XCTAssertEqual(t.map(\.0), [[0, 1], [0, 1], [0, 1], [1, 1]])
        XCTAssertEqual(t.map(\.1), [[1, 0], [0.75, 0.25], [0.25, 0.75], [1, 0]])
        XCTAssertEqual(taps(3, 3).map(\.0), [[0], [1], [2]])
    }

    func testShapesAndCropOffsetsFollowTorchvision() {
        XCTAssertTrue(Resampling.resizedShape(width: 100, height: 50, size: 32) == (64, 32))
        XCTAssertTrue(Resampling.resizedShape(width: 50, height: 75, size: 32) == (32, 48))
        XCTAssertTrue(Resampling.resizedShape(width: 7, height: 10, size: 4) == (4, 5))   // floor(4·10/7) = 5
        XCTAssertEqual(Resampling.cropStart(37, 32), 2)   // round(2.5) = 2, half to even as Python
        XCTAssertEqual(Resampling.cropStart(39, 32), 4)   // round(3.5) = 4
        XCTAssertEqual(Resampling.cropStart(32, 32), 0)
    }

    /// 4×4 → 2×2 area: each output is its 2×2 block's mean; 4×2 → crop 2×2: the middle columns unchanged.
    func testResizeAndCropOnSmallImages() {
        var px: [UInt8] = []
        for y in 0..<4 { for x in 0..<4 { px += [UInt8(10 * (4 * y + x)), 0, 255] } }
        var out = [Float](repeating: -1, count: 12)
        Resampling.resizeAndCrop(RGBImage(width: 4, height: 4, pixels: px), size: 2, into: &out)
        // red block means: (0+10+40+50)/4 = 25, (20+30+60+70)/4 = 45, 105, 125
        for (got, want) in zip(out[0..<4], [25, 45, 105, 125].map { Float($0) / 255 }) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        XCTAssertEqual(Array(out[4..<8]), [0, 0, 0, 0])
        XCTAssertEqual(Array(out[8..<12]), [1, 1, 1, 1])
        let wide = RGBImage(width: 4, height: 2, pixels: (0..<8).flatMap { [UInt8($0 * 30), 0, 0] })
        var crop = [Float](repeating: -1, count: 12)
        Resampling.resizeAndCrop(wide, size: 2, into: &crop)
        // shorter side already 2: no resize; crop starts at column round(1) = 1 → columns 1, 2 of both rows.
        XCTAssertEqual(Array(crop[0..<4]), [30, 60, 150, 180].map { Float($0) / 255 })
    }
}
