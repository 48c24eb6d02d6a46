import Foundation
import XCTest
import ShearsData

/// The ALMA megabatch stream of APP (spec §1.1, §4.2).
final class AnytimeStreamTests: XCTestCase {
    /// Spec §4.2's table: m_tr = int(0.9·|M|), val = |M| − m_tr, π = int(0.2·|M|), plus CIFAR's 6250 → 5625 / 625 / 1250.
    func testMegabatchPartsMatchTheSpecTable() throws {
        let rows: [(m: Int, sb: Int, mTrain: Int, val: Int, pi: Int)] = [
            (756, 10, 680, 76, 151), (126, 30, 113, 13, 25), (252, 30, 226, 26, 50),
            (54, 70, 48, 6, 10), (108, 70, 97, 11, 21), (6250, 8, 5625, 625, 1250),
        ]
        for r in rows {
            let s = try AnytimeStream(poolCount: r.m * r.sb, megabatches: r.sb, seed: 1)
            XCTAssertEqual(s.megabatchSize, r.m)
            XCTAssertEqual(s.megabatches.count, r.sb)
            for mb in s.megabatches {
                XCTAssertEqual(mb.train.count, r.mTrain, "|M| = \(r.m)")
                XCTAssertEqual(mb.validation.count, r.val, "|M| = \(r.m)")
            }
            for t in [1, r.sb] {
                XCTAssertEqual(s.pruneSampleCount(at: t, replay: .full, fraction: 0.2, size: .megabatch), r.pi, "|M| = \(r.m), t = \(t)")
            }
            // The paper's sizing: 0.2 of the replay-inclusive megabatch (t·|M| with full replay); at t = 1 the same.
            XCTAssertEqual(s.pruneSampleCount(at: 1, replay: .full, fraction: 0.2, size: .replay), r.pi)
            XCTAssertEqual(s.pruneSampleCount(at: 3, replay: .full, fraction: 0.2, size: .replay), truncatedProduct(0.2, 3 * r.m))
            XCTAssertEqual(s.pruneSampleCount(at: 3, replay: .none, fraction: 0.2, size: .replay), r.pi)
        }
        XCTAssertEqual(truncatedProduct(0.9, 7500), 6750)   // 6750.000000000001
        XCTAssertEqual(truncatedProduct(0.9, 126), 113)
        XCTAssertEqual(truncatedProduct(0.2, 54), 10)
    }

    func testMegabatchesAreDisjointSeededAndCoverThePool() throws {
        let s = try AnytimeStream(poolCount: 1003, megabatches: 8, seed: 7)
        let all = s.megabatches.flatMap { $0.train + $0.validation }
        XCTAssertEqual(all.count, 8 * 125)                         // ⌊1003/8⌋ = 125; three examples unused
        XCTAssertEqual(Set(all).count, all.count)
        XCTAssertTrue(all.allSatisfy { $0 >= 0 && $0 < 1003 })
        XCTAssertEqual(try AnytimeStream(poolCount: 1003, megabatches: 8, seed: 7), s)
        XCTAssertNotEqual(try AnytimeStream(poolCount: 1003, megabatches: 8, seed: 8).megabatches[0].train, s.megabatches[0].train)
        // Without shuffling the megabatches are consecutive ranges of the pool, as in the APP code's CIFAR loader.
        let ordered = try AnytimeStream(poolCount: 100, megabatches: 4, seed: 0, shuffle: false)
        XCTAssertEqual(ordered.megabatches[1].train, Array(25..<47))
        XCTAssertEqual(ordered.megabatches[1].validation, Array(47..<50))
        // A pool size takes the first N of the shuffle.
        let small = try AnytimeStream(poolCount: 1003, megabatches: 8, poolSize: 400, seed: 7)
        XCTAssertEqual(small.megabatchSize, 50)
        XCTAssertEqual(small.megabatches[0].train, Array(s.megabatches[0].train.prefix(45)))   // the same shuffle, cut smaller
    }

    func testReplayPolicies() throws {
        let s = try AnytimeStream(poolCount: 1000, megabatches: 5, seed: 3)   // |M| = 200: 180 train, 20 validation
        for t in 1...5 {
            XCTAssertEqual(s.trainIndices(at: t, replay: .full), s.megabatches[..<t].flatMap(\.train))
            XCTAssertEqual(s.validationIndices(at: t, replay: .full).count, 20 * t)
            XCTAssertEqual(s.trainIndices(at: t, replay: .none), s.megabatches[t - 1].train)
            XCTAssertEqual(s.validationIndices(at: t, replay: .none), s.megabatches[t - 1].validation)
        }
        // A buffer of 90: the current megabatch plus 90 earlier training examples (10 validation: 90·20/180).
        let b = ReplayPolicy.buffer(capacity: 90)
        XCTAssertEqual(s.trainIndices(at: 1, replay: b), s.megabatches[0].train)
        let tr = s.trainIndices(at: 4, replay: b), va = s.validationIndices(at: 4, replay: b)
        XCTAssertEqual(tr.count, 90 + 180)
        XCTAssertEqual(va.count, 10 + 20)
        XCTAssertEqual(Array(tr.suffix(180)), s.megabatches[3].train)
        XCTAssertTrue(Set(tr.prefix(90)).isSubset(of: Set(s.megabatches[..<3].flatMap(\.train))))
        XCTAssertEqual(Set(tr).count, tr.count)
        XCTAssertEqual(s.trainIndices(at: 4, replay: b), tr)                 // a pure function of (seed, t)
        // A buffer larger than the past is full replay.
        XCTAssertEqual(s.trainIndices(at: 2, replay: .buffer(capacity: 500)), s.trainIndices(at: 2, replay: .full))

        XCTAssertEqual(ReplayPolicy(parsing: "buffer:12"), .buffer(capacity: 12))
        XCTAssertEqual(ReplayPolicy(parsing: "FULL"), .full)
        XCTAssertNil(ReplayPolicy(parsing: "buffer:-1"))
        XCTAssertNil(ReplayPolicy(parsing: "some"))
        for p in [ReplayPolicy.full, .none, .buffer(capacity: 5)] {
            XCTAssertEqual(try JSONDecoder().decode([ReplayPolicy].self, from: JSONEncoder().encode([p])), [p])
        }
        XCTAssertThrowsError(try JSONDecoder().decode([ReplayPolicy].self, from: Data("[\"later\"]".utf8)))
    }

    func testPruningSample() throws {
        let s = try AnytimeStream(poolCount: 1000, megabatches: 5, seed: 3)
        let tr = s.trainIndices(at: 3, replay: .full)
        XCTAssertEqual(s.pruneSample(at: 3, replay: .full, count: 40, draw: .first), Array(tr.prefix(40)))
        let r = s.pruneSample(at: 3, replay: .full, count: 120, draw: .random)
        XCTAssertEqual(r.count, 120)
        XCTAssertEqual(Set(r).count, 120)
        XCTAssertTrue(Set(r).isSubset(of: Set(tr)))
        // Drawn from the whole replay set, not only from M_1 as the code's first-items sample is.
        XCTAssertFalse(Set(r).isSubset(of: Set(s.megabatches[0].train)))
        XCTAssertEqual(s.pruneSample(at: 3, replay: .full, count: 120, draw: .random), r)
        XCTAssertNotEqual(s.pruneSample(at: 2, replay: .full, count: 120, draw: .random), r)
    }

    func testBadStreamsAreRefusedWithTheReason() {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { _ = try AnytimeStream(poolCount: 100, megabatches: 0, seed: 0) }.contains("--megabatches"))
        XCTAssertTrue(message { _ = try AnytimeStream(poolCount: 100, megabatches: 60, seed: 0) }.contains("|M| = 1"))
        XCTAssertTrue(message { _ = try AnytimeStream(poolCount: 100, megabatches: 2, poolSize: 101, seed: 0) }.contains("--pool-size"))
    }
}
