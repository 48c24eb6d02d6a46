import XCTest
@testable import ShearsTensor

/// `--threads N` reaches both kernel libraries through one OpenMP pool.
final class ThreadsTests: XCTestCase {
    func testThreadCountIsRespectedAndResultsAgree() {
        let before = Threads.current
        defer { Threads.set(before) }
        var g = Generator(seed: 9)
        let x = Variable(Tensor.normal([4, 8, 9, 9], generator: &g))
        let w = Variable(Tensor.normal([16, 8, 3, 3], generator: &g), requiresGrad: true)
        var outputs: [[Float]] = []
        for n in [1, 2] {
            Threads.set(n)
            XCTAssertEqual(Threads.current, n)
            outputs.append(conv2d(x, weight: w, padding: 1).value.scalars)
        }
        XCTAssertEqual(outputs[0].count, outputs[1].count)
        for (a, b) in zip(outputs[0], outputs[1]) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    func testStoragePoolReusesFreedBlocks() {
        let pool = StoragePool.shared
        let n = 1 << 20
        var p1: UnsafeMutablePointer<Float>?
        do {
            let t = Tensor(shape: [n], repeating: 1)
            p1 = t.storage.pointer
        }
        let t2 = Tensor(shape: [n], repeating: 2)   // same size: served from the cache
        XCTAssertEqual(t2.storage.pointer, p1)
        XCTAssertEqual(t2.scalars.prefix(3), [2, 2, 2], "a reused block is fully re-initialised")
        XCTAssertGreaterThanOrEqual(pool.capacityBytes, 0)
    }
}
