import ArgumentParser
import Foundation
import XCTest
@testable import shears

/// `shears bench data` as a user types it: refusals that name the flag, a tiny run end to end, and a
/// malformed --data-dir reported by name.
final class BenchDataCommandTests: CommandTestCase {
    func testNonsenseFlagsAreRefusedNamingTheFlag() {
        let cases: [([String], String)] = [
            (["bench", "data", "--image-size", "0"], "--image-size"),
            (["bench", "data", "--batch-size", "1"], "--batch-size"),
            (["bench", "data", "--steps", "0"], "--steps"),
            (["bench", "data", "--prefetch", "-1"], "--prefetch"),
            (["bench", "data", "--per-class", "0"], "--per-class"),
            (["bench", "data", "--source-width", "100000"], "--source-width"),
            (["bench", "data", "--threads", "0"], "--threads"),
        ]
        for (args, expected) in cases {
            guard let message = refusal(args) else { XCTFail("\(args) was accepted"); continue }
            XCTAssertTrue(message.contains(expected), "\(args): message \(message) should name \(expected)")
        }
    }

    func testTinyRunOnSyntheticJPEGsAndPNGs() throws {
        for format in [[], ["--png"]] {
            try run(["bench", "data", "--classes", "2", "--per-class", "3", "--source-width", "12", "--source-height", "10",
                     "--image-size", "8", "--batch-size", "2", "--steps", "1", "--warmup", "0", "--threads", "1"] + format)
        }
    }

    func testMalformedDataDirIsNamed() throws {
        let dir = scratch.appendingPathComponent("data").path
        try FileManager.default.createDirectory(atPath: dir + "/train/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/val/a", withIntermediateDirectories: true)
        XCTAssertThrowsError(try run(["bench", "data", "--data-dir", dir, "--steps", "1"])) { error in
            XCTAssertTrue("\(error)".contains(dir + "/train/a") && "\(error)".contains("no images"), "\(error)")
        }
    }
}
