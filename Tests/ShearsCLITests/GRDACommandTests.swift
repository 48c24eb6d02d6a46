import ArgumentParser
import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
@testable import shears

/// `shears prune grda` and `shears analyze hessian` as a user types them.
final class GRDACommandTests: CommandTestCase {
    func testNonsenseFlagsAreRefusedNamingTheFlag() {
        let cases: [([String], String)] = [
            (["prune", "grda", "--c", "-0.1"], "--c"),
            (["prune", "grda", "--mu", "0"], "--mu"),
            (["prune", "grda", "--mu", "abc"], "mu"),
            (["prune", "grda", "--lr-schedule", "drop"], "--drop-at"),
            (["prune", "grda", "--lr-schedule", "drop", "--drop-at", "soon"], "--drop-at"),
            (["prune", "grda", "--lr-schedule", "sawtooth"], "unknown schedule 'sawtooth'"),
            (["prune", "grda", "--milestones", "3ep"], "--milestones"),
            (["prune", "grda", "--lr-schedule", "cifar", "--iterations", "100"], "--epochs"),
            (["prune", "grda", "--drop-at", "3ep"], "--drop-at"),
            (["prune", "grda", "--gmp-begin", "0.8", "--gmp-end", "0.5"], "--gmp-begin"),
            (["prune", "grda", "--gmp-steps", "0"], "--gmp-steps"),
            (["prune", "grda", "--snapshot-every", "0it"], "--snapshot-every"),
            (["prune", "grda", "--snapshot-every", "often"], "--snapshot-every"),
            (["prune", "grda", "--lr", "-1"], "--lr"),
            (["analyze", "hessian", "x", "--k", "0"], "--k"),
            (["analyze", "hessian", "x", "--k", "20", "--lanczos-steps", "10"], "--lanczos-steps"),
            (["analyze", "hessian", "x", "--split", "validation"], "--split"),
            (["analyze", "projection", "a", "b", "--k", "0"], "--k"),
            (["analyze", "hessian", "x", "--hvp-step", "-1"], "--hvp-step"),
        ]
        for (args, expected) in cases {
            guard let message = refusal(args) else { XCTFail("\(args) was accepted"); continue }
            XCTAssertTrue(message.contains(expected), "\(args): \(message)")
        }
        XCTAssertNil(refusal(["prune", "grda", "--lr-schedule", "drop", "--drop-at", "5ep", "--mu", "0.51", "--c", "0.001"]))
        XCTAssertNil(refusal(["prune", "grda", "--lr-schedule", "cifar", "--epochs", "4", "--exclude-biases-and-batch-norm"]))
    }

    func testGRDARunThenHessian() throws {
        let out = scratch.appendingPathComponent("run").path
        try run(["prune", "grda", "--dataset", "synthetic", "--iterations", "12", "--eval-every", "6it", "--validation", "200",
                 "--lr", "0.05", "--c", "0.1", "--gmp-steps", "2", "--snapshot-every", "6it", "--threads", "1", "--prefetch", "0",
                 "--out", out])
        let summary = try JSONDecoder().decode(DirectionalPruningSummary.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
        XCTAssertEqual(summary.phases.map(\.phase), ["sgd", "grda", "gmp"])
        XCTAssertGreaterThan(summary.phases[1].sparsity, 0)
        let table = try String(contentsOfFile: out + "/summary.md", encoding: .utf8)
        XCTAssertTrue(table.contains("| grda |") && table.contains("| gmp |") && table.contains("per-tensor density"), table)
        for file in ["curves_test_accuracy.svg", "curves_sparsity.svg", "curves_train_loss.svg"] {
            let svg = try String(contentsOfFile: out + "/" + file, encoding: .utf8)
            XCTAssertTrue(svg.contains("<svg") && ["sgd", "grda", "gmp"].allSatisfy { svg.contains(">\($0)<") }, file)
        }

        let hessianOut = scratch.appendingPathComponent("hessian").path
        try run(["analyze", "hessian", out + "/sgd", "--k", "3", "--examples", "100", "--batch-size", "50",
                 "--lanczos-steps", "12", "--out", hessianOut, "--threads", "1"])
        let report = try JSONDecoder().decode(HessianReport.self, from: Data(contentsOf: URL(fileURLWithPath: hessianOut + "/hessian.json")))
        XCTAssertEqual(report.eigenvalues.count, 3)
        XCTAssertEqual(report.examples, 100)
        XCTAssertEqual(report.eigenvalues, report.eigenvalues.sorted(by: >))
        XCTAssertGreaterThan(report.eigenvalues[0], 0)
        // The measured residual of the leading pair: H·v ≈ λ·v to the accuracy of the finite-difference HVPs of a ReLU
        // network (a few %; a wrong vector would give ~1).
        XCTAssertEqual(report.relativeResiduals.count, 3)
        XCTAssertLessThan(report.relativeResiduals[0], 0.3, "\(report.relativeResiduals)")
        let vectors = try SafetensorsFile.read(path: hessianOut + "/hessian_eigenvectors.safetensors")
        XCTAssertNotNil(vectors.tensors["v2/fc1.weight"])
        // Eq. 13 between the gRDA and SGD end points.
        try run(["analyze", "projection", out + "/sgd", out + "/grda", "--k", "3", "--examples", "100", "--batch-size", "50",
                 "--lanczos-steps", "12", "--threads", "1"])
        let projection = try JSONDecoder().decode(ProjectionReport.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/grda/projection.json")))
        XCTAssertEqual(projection.projection.components.count, 3)
        XCTAssertGreaterThan(projection.projection.deltaNorm, 0)
        XCTAssertTrue((0...1).contains(projection.projection.proportion))
        XCTAssertEqual(projection.eigenvalues, report.eigenvalues)   // the same Hessian at the SGD weights, same seed
        // The same along training: snapshots at iterations 6 and 12 of both runs; the last one is the end point above.
        for phase in ["sgd", "grda", "gmp"] { XCTAssertEqual(DirectionalPruning.snapshotIterations(in: out + "/" + phase), [6, 12]) }
        let snap = try SafetensorsFile.read(path: out + "/grda/snapshots/it_12.safetensors").tensors
        let final = try SafetensorsFile.read(path: out + "/grda/model.safetensors").tensors
        XCTAssertEqual(Set(snap.keys), Set(final.keys))
        for (k, t) in final { XCTAssertEqual(snap[k]?.scalars, t.scalars, k) }
        try run(["analyze", "projection", out + "/sgd", out + "/grda", "--along", "--k", "3", "--examples", "100", "--batch-size", "50",
                 "--lanczos-steps", "12", "--threads", "1"])
        let along = try JSONDecoder().decode([ProjectionAlongPoint].self, from: Data(contentsOf: URL(fileURLWithPath: out + "/grda/projection_along.json")))
        XCTAssertEqual(along.map(\.iteration), [6, 12])
        XCTAssertEqual(along[1].projection, projection.projection)
        XCTAssertLessThan(along[0].projection.deltaNorm, along[1].projection.deltaNorm)   // the runs drift apart
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/grda/projection_along.svg"))
        let bare = scratch.appendingPathComponent("bare").path   // a run without snapshots
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] { try FileManager.default.copyItem(atPath: out + "/sgd/" + f, toPath: bare + "/" + f) }
        XCTAssertThrowsError(try run(["analyze", "projection", out + "/sgd", bare, "--along", "--k", "1", "--out", scratch.path + "/x"])) { e in
            XCTAssertTrue(Shears.message(for: e).contains("--snapshot-every"), Shears.message(for: e))
        }
        // A directory without config.json is named in the error.
        XCTAssertThrowsError(try run(["analyze", "hessian", scratch.path])) { e in
            XCTAssertTrue(Shears.message(for: e).contains("config.json"), Shears.message(for: e))
        }
    }
}
