import ArgumentParser
import Foundation
import ShearsData
import XCTest
@testable import shears

/// The external-data flag group parses into `ExternalDataOptions` and refuses nonsense naming the flag.
final class ExternalDataFlagsTests: XCTestCase {
    func testFlagsParseIntoOptions() throws {
        let f = try ExternalDataFlags.parse(["--data-path", "d.npz", "--image-size", "32", "--layout", "nhwc", "--classes", "7",
                                             "--test-fraction", "0.25", "--split-seed", "3"])
        XCTAssertEqual(f.dataPath, "d.npz")
        XCTAssertEqual(f.options, ExternalDataOptions(imageSize: 32, layout: .nhwc, classes: 7, testFraction: 0.25, splitSeed: 3))
        XCTAssertEqual(try ExternalDataFlags.parse([]).options, ExternalDataOptions())
    }

    func testNonsenseIsRefusedNamingTheFlag() {
        for (args, flag) in [(["--image-size", "0"], "--image-size"), (["--image-size", "100000"], "--image-size"),
                             (["--test-fraction", "1"], "--test-fraction"), (["--test-fraction", "nan"], "--test-fraction"),
                             (["--classes", "0"], "--classes"), (["--layout", "chw"], "layout")] {
            XCTAssertThrowsError(try ExternalDataFlags.parse(args), "\(args)") { error in
                XCTAssertTrue(ExternalDataFlags.message(for: error).contains(flag), "\(args): \(ExternalDataFlags.message(for: error))")
            }
        }
    }
}
