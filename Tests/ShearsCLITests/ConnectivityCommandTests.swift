import ArgumentParser
import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
@testable import shears

/// `shears analyze connectivity` as a user types it.
final class ConnectivityCommandTests: CommandTestCase {
    func testNonsenseFlagsAreRefusedNamingTheFlag() {
        let cases: [([String], String)] = [
            (["analyze", "connectivity", "a", "b", "--grid", "1"], "--grid"),
            (["analyze", "connectivity", "a", "b", "--points", "1"], "--points"),
            (["analyze", "connectivity", "a", "b", "--schedule", "sawtooth"], "--schedule"),
            (["analyze", "connectivity", "a", "b", "--lr", "0"], "--lr"),
            (["analyze", "connectivity", "a", "b", "--momentum", "1"], "--momentum"),
            (["analyze", "connectivity", "a", "b", "--train-examples", "0"], "--train-examples"),
            (["analyze", "connectivity", "a", "b", "--margin", "-1"], "--margin"),
            (["analyze", "connectivity", "a"], "end-run"),
        ]
        for (args, expected) in cases {
            guard let message = refusal(args) else { XCTFail("\(args) was accepted"); continue }
            XCTAssertTrue(message.contains(expected), "\(args): \(message)")
        }
        XCTAssertNil(refusal(["analyze", "connectivity", "a", "b", "--grid", "0", "--epochs", "0"]))
    }

    /// gRDA and SGD from `prune grda`, then the curve between them, written beside them by default.
    func testConnectivityBetweenTheGRDAAndSGDRuns() throws {
        let out = scratch.appendingPathComponent("run").path
        try run(["prune", "grda", "--dataset", "synthetic", "--iterations", "12", "--eval-every", "12it", "--validation", "200",
                 "--lr", "0.05", "--c", "0.1", "--no-gmp", "--threads", "1", "--prefetch", "0", "--out", out])
        XCTAssertThrowsError(try run(["analyze", "connectivity", out + "/grda", out + "/missing"])) { e in
            XCTAssertTrue("\(e)".contains("missing") && "\(e)".contains("config.json"), "\(e)")
        }
        try run(["analyze", "connectivity", out + "/grda", out + "/sgd", "--epochs", "1", "--points", "3", "--grid", "2",
                 "--train-examples", "300", "--threads", "1", "--prefetch", "0"])
        let report = try XCTUnwrap(try RunDirectory(path: out + "/connectivity").readJSON(ConnectivityReport.self, from: "connectivity.json"))
        let md = try String(contentsOfFile: out + "/connectivity/summary.md", encoding: .utf8)
        XCTAssertTrue(md.contains("barrier") && md.contains("split"), md)
        for file in ["curve_train_loss.svg", "curve_error.svg", "plane_train_loss.svg", "plane_test_error.svg"] {
            XCTAssertTrue(try String(contentsOfFile: out + "/connectivity/" + file, encoding: .utf8).contains("<svg"), file)
        }
        XCTAssertEqual(report.curve.t, [0, 0.5, 1])
        XCTAssertEqual(report.startLabel, "grda")
        XCTAssertTrue(report.start.hasSuffix("grda/model.safetensors"))
        XCTAssertEqual(report.plane?.xs.count, 2)
        XCTAssertTrue(report.curve.trainLoss.allSatisfy(\.isFinite))
    }
}
