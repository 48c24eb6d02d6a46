import ArgumentParser
import Foundation
import XCTest
import ShearsIO
@testable import shears

/// `shears export` as a user types it: its refusals, an export of a pruned run in every format, `--info`, and
/// training from an exported file.
final class ExportCommandTests: CommandTestCase {
    /// A small LeNet-300-100-shaped state dict (plain safetensors, as `saveStateDict` writes it).
    private func stateDict() throws -> String {
        let path = scratch.appendingPathComponent("model.safetensors").path
        try SafetensorsRawFile(tensors: ["fc.weight": RawTensor(float32: [0, 1, 0, -2], shape: [2, 2])],
                               metadata: ["format": "pt"]).write(path: path)
        return path
    }

    func testNonsenseIsRefusedNamingTheFlagOrFile() throws {
        let input = try stateDict()
        let link = scratch.appendingPathComponent("link.safetensors").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        let hard = scratch.appendingPathComponent("hard.safetensors").path
        try FileManager.default.linkItem(atPath: input, toPath: hard)
        let out = scratch.appendingPathComponent("out.safetensors").path
        let viaDots = scratch.path + "/./sub/../model.safetensors"
        let cases: [([String], [String])] = [
            (["export", input, "--format", "zip", "--out", out], ["'zip'", "'dense', 'bitmask', 'csr', 'compressed-tensors' or 'onnx'"]),
            (["export", scratch.path + "/missing.safetensors", "--format", "csr", "--out", out], ["missing.safetensors: no such file"]),
            (["export", scratch.path, "--format", "csr", "--out", out], ["is a directory"]),
            (["export", input, "--format", "csr", "--out", input], ["is the input file", "refused"]),
            (["export", input, "--format", "csr", "--out", viaDots], ["is the input file"]),
            (["export", input, "--format", "csr", "--out", link], ["is the input file"]),
            (["export", input, "--format", "csr", "--out", hard], ["is the input file"]),
            (["export", input, "--out", out], ["--format is required", "dense, bitmask, csr"]),
            (["export", input, "--format", "bitmask"], ["--out is required"]),
            (["export", input, "--info", "--format", "csr"], ["--info only describes"]),
        ]
        for (args, expected) in cases {
            let message = try XCTUnwrap(refusal(args), "\(args) was accepted")
            for e in expected { XCTAssertTrue(message.contains(e), "\(args): \(message)") }
        }
        XCTAssertNil(refusal(["export", input, "--format", "csr", "--out", out]))
        XCTAssertNil(refusal(["export", input, "--info"]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "refusals write nothing")

        // A file that is not a safetensors state dict is named in the error.
        let junk = scratch.appendingPathComponent("junk.safetensors").path
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try run(["export", junk, "--format", "csr", "--out", out])) { error in
            XCTAssertTrue("\(error)".hasPrefix(junk), "\(error)")
        }
    }

    func testPrunedRunExportsInEveryFormatAndTrainsFromTheBitmask() throws {
        let run0 = scratch.appendingPathComponent("prune").path
        try run(["prune", "iterative", "--dataset", "synthetic", "--split", "pooled", "--iterations", "4", "--eval-every", "4it", "--cycles", "1",
                 "--rate", "0.9", "--allocation", "layerwise", "--threads", "1", "--prefetch", "0", "--out", run0])
        let model = run0 + "/run_0/model.safetensors"
        let original = try SafetensorsRawFile.read(path: model).tensors
        func zeros(_ names: [String]) -> (Int, Int) {
            names.reduce((0, 0)) { acc, name in
                let bits = original[name]!.float32Bits
                return (acc.0 + bits.filter { $0 & 0x7FFF_FFFF == 0 }.count, acc.1 + bits.count)
            }
        }
        let weights = zeros(["fc1.weight", "fc2.weight", "fc3.weight"])
        let all = zeros(original.keys.sorted())
        XCTAssertEqual(Double(weights.0) / Double(weights.1), 0.9, accuracy: 0.001)

        let bitmask = scratch.appendingPathComponent("m.bitmask.safetensors").path
        let lines = try Export.export(model, as: .bitmask, to: bitmask)
        XCTAssertEqual(lines.count, 3, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("bitmask: 3 tensors (fc1.weight, fc2.weight, fc3.weight), "
                                                     + "\(grouped(weights.1)) elements, 90.0% zeros, ") },
                      lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("dense (bitmask would be larger): 3 tensors (fc1.bias, fc2.bias, fc3.bias)") },
                      lines.joined(separator: "\n"))
        let sparsity = String(format: "global sparsity %.1f%% ", 100 * Double(all.0) / Double(all.1))
            + "(zeros among \(grouped(all.1)) float elements)"
        XCTAssertTrue(lines.last!.contains(sparsity) && lines.last!.hasSuffix("wrote \(bitmask)"), "\(lines.last!) lacks \(sparsity)")
        let (decoded, info) = try SparseStateDict.read(path: bitmask)
        XCTAssertEqual(decoded.tensors, original)
        XCTAssertEqual(info.format, .bitmask)
        XCTAssertLessThanOrEqual(info.sizeRatio, 0.15)
        XCTAssertTrue(lines.last!.contains(String(format: "(%.1f%% of dense)", 100 * info.sizeRatio)), lines.last!)

        // The other formats, through the command itself, from the bitmask file; then back to dense.
        let csr = scratch.appendingPathComponent("m.csr.safetensors").path
        let dense = scratch.appendingPathComponent("m.dense.safetensors").path
        try run(["export", bitmask, "--format", "csr", "--out", csr])
        try run(["export", csr, "--format", "dense", "--out", dense])
        XCTAssertEqual(try SparseStateDict.read(path: csr).decoded.tensors, original)
        let back = try SafetensorsRawFile.read(path: dense)
        XCTAssertEqual(back.tensors, original, "dense after bitmask → csr → dense is bit-identical")
        XCTAssertEqual(back.metadata["format"], "pt")
        XCTAssertEqual(back.metadata["shears.format"], "dense")
        let csrSize = try SparseStateDict.read(path: csr).info.fileBytes
        XCTAssertLessThan(csrSize, try SparseStateDict.read(path: dense).info.fileBytes)

        let described = try Export.describe(csr)
        XCTAssertEqual(described.first, "\(csr): csr (shears.format version 1)")
        XCTAssertTrue(described.contains("tensors: 6 (3 stored as csr, 3 dense)"), described.joined(separator: "\n"))
        XCTAssertTrue(described.contains(String(format: "sparsity: %.2f%%", 100 * Double(all.0) / Double(all.1))
                                         + " (\(grouped(all.0)) zeros among \(grouped(all.1)) float elements)"), described.joined(separator: "\n"))
        XCTAssertTrue(described.contains { $0.hasPrefix("size: \(grouped(csrSize)) bytes, ") && $0.contains("% of the dense") },
                      described.joined(separator: "\n"))
        XCTAssertEqual(try Export.describe(model).first, "\(model): dense (plain safetensors, no shears.format)")

        // Training from the bitmask file loads it and says what it loaded.
        let train = scratch.appendingPathComponent("train").path
        try run(["train", "--dataset", "synthetic", "--iterations", "1", "--eval-every", "1it", "--validation", "100", "--init", bitmask,
                 "--threads", "1", "--prefetch", "0", "--out", train])
        let log = try String(contentsOfFile: train + "/log.txt", encoding: .utf8)
        XCTAssertTrue(log.contains("loaded \(bitmask) (bitmask, "), log)
    }

    private func grouped(_ n: Int) -> String {
        let f = NumberFormatter()
        f.numberStyle = .decimal
        f.groupingSeparator = ","
        f.usesGroupingSeparator = true
        return f.string(from: NSNumber(value: n))!
    }
}
