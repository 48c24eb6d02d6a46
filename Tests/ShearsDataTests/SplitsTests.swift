import Foundation
import ShearsData
import ShearsTensor
import XCTest

/// Seeded hold-out and pooled splits.
final class SplitsTests: XCTestCase {
    /// Example i has label i % 10 and every pixel equal to i / 1000, so an image identifies its example.
    static func numbered(_ n: Int, offset: Int = 0) -> Dataset {
        let scalars = (0..<n).flatMap { i in [Float](repeating: Float(i + offset) / 1000, count: 4) }
        return Dataset(name: "numbered", images: Tensor(shape: [n, 1, 2, 2], scalars: scalars),
                       labels: (0..<n).map { Int32(($0 + offset) % 10) }, classes: 10)
    }

    static func ids(_ d: Dataset) -> [Int] {
        let s = d.images.scalars
        return (0..<d.count).map { Int((s[$0 * 4] * 1000).rounded()) }
    }

    func testHoldOut() {
        let d = Self.numbered(100)
        var g = Generator(seed: 3)
        let (train, validation) = Splits.holdOut(d, validation: 20, generator: &g)
        XCTAssertEqual(train.count, 80)
        XCTAssertEqual(validation.count, 20)
        let t = Self.ids(train), v = Self.ids(validation)
        XCTAssertTrue(Set(t).isDisjoint(with: v))
        XCTAssertEqual(Set(t).union(v), Set(0..<100))
        XCTAssertEqual(t, t.sorted(), "training part keeps the original order")
        XCTAssertEqual(v, v.sorted(), "validation part keeps the original order")
        XCTAssertEqual(train.labels, t.map { Int32($0 % 10) })
        XCTAssertEqual(validation.labels, v.map { Int32($0 % 10) })
        XCTAssertNotEqual(v, Array(0..<20), "drawn at random, not the first 20")

        var same = Generator(seed: 3), other = Generator(seed: 4)
        XCTAssertEqual(Self.ids(Splits.holdOut(d, validation: 20, generator: &same).validation), v)
        XCTAssertNotEqual(Self.ids(Splits.holdOut(d, validation: 20, generator: &other).validation), v)
    }

    func testHoldOutEdgeSizes() {
        let d = Self.numbered(10)
        var g = Generator(seed: 1)
        XCTAssertEqual(Splits.holdOut(d, validation: 0, generator: &g).train.count, 10)
        let all = Splits.holdOut(d, validation: 10, generator: &g)
        XCTAssertEqual(all.train.count, 0)
        XCTAssertEqual(Self.ids(all.validation), Array(0..<10))
    }

    func testPooled() {
        let train = Self.numbered(70), test = Self.numbered(30, offset: 70)
        var g = Generator(seed: 11)
        let s = Splits.pooled(train: train, test: test, generator: &g)
        XCTAssertEqual([s.train.count, s.validation.count, s.test.count], [60, 20, 20])
        let a = Self.ids(s.train), b = Self.ids(s.validation), c = Self.ids(s.test)
        XCTAssertEqual((a + b + c).sorted(), Array(0..<100), "every pooled example exactly once")
        XCTAssertNotEqual(a.sorted(), Array(0..<60), "shuffled before splitting")
        XCTAssertEqual(s.test.labels, c.map { Int32($0 % 10) })

        var same = Generator(seed: 11)
        let again = Splits.pooled(train: train, test: test, generator: &same)
        XCTAssertEqual(Self.ids(again.train), a)
        XCTAssertEqual(Self.ids(again.validation), b)
        XCTAssertEqual(Self.ids(again.test), c)
        XCTAssertEqual(again.train.images.scalars, s.train.images.scalars)
    }

    func testPooledSizesAreFloors() {
        // N = 70,000 (MNIST): 0.6·N must give 42,000 even though 0.6 is not exact in binary.
        for (n, expected) in [(70_000, [42_000, 14_000, 14_000]), (11, [6, 2, 3]), (7, [4, 1, 2])] {
            let train = Self.numbered(n - n / 3), test = Self.numbered(n / 3)
            var g = Generator(seed: 5)
            let s = Splits.pooled(train: train, test: test, generator: &g)
            XCTAssertEqual([s.train.count, s.validation.count, s.test.count], expected, "N = \(n)")
        }
        var g = Generator(seed: 5)
        let custom = Splits.pooled(train: Self.numbered(50), test: Self.numbered(50), fractions: (0.8, 0.1, 0.1), generator: &g)
        XCTAssertEqual([custom.train.count, custom.validation.count, custom.test.count], [80, 10, 10])
    }
}
