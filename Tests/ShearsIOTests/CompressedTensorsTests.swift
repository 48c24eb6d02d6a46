import Foundation
import ShearsIO
import XCTest

/// The compressed-tensors sparse-bitmask layout: exact parts for hand-derived tensors, bit-identical round trips,
/// the −0.0 rule, files without Shears' metadata, and malformed parts.
final class CompressedTensorsTests: XCTestCase {
    func f32(_ v: [Float], _ shape: [Int]) -> RawTensor { RawTensor(float32: v, shape: shape) }

    func testMatrixPartsMatchHandDerivedLayout() throws {
        // Row 0: 0 1.5 0 0 0 0 0 0 | 2 0   → bits 1 and 8 → bytes [0b10, 0b1]; row 1: 0 … 0 | 0 -3 → byte 1 bit 1.
        var row0 = [Float](repeating: 0, count: 10), row1 = [Float](repeating: 0, count: 10)
        row0[1] = 1.5; row0[8] = 2; row1[9] = -3
        let tensors = ["fc.weight": f32(row0 + row1, [2, 10]), "fc.bias": f32([0, 1], [2])]
        let (file, decisions) = try SparseStateDict.encode(tensors, metadata: ["format": "pt"], as: .compressedTensors, path: "t")
        XCTAssertEqual(Set(file.tensors.keys), ["fc.compressed", "fc.bitmask", "fc.shape", "fc.row_offsets", "fc.bias"])
        XCTAssertEqual(file.tensors["fc.compressed"], f32([1.5, 2, -3], [3]))
        XCTAssertEqual(file.tensors["fc.bitmask"], RawTensor(dtype: .U8, shape: [2, 2], bytes: [0b10, 0b1, 0, 0b10]))
        XCTAssertEqual(file.tensors["fc.shape"]?.integers, [2, 10])
        XCTAssertEqual(file.tensors["fc.shape"]?.dtype, .I64)
        XCTAssertEqual(file.tensors["fc.row_offsets"], RawTensor(integers: [0, 2], dtype: .I64, shape: [2]))
        XCTAssertEqual(file.tensors["fc.bias"], tensors["fc.bias"], "biases stay as they are")
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(file.metadata[SparseStateDict.formatKey], "compressed-tensors")
        let config = try XCTUnwrap(file.metadata[CompressedTensors.configKey])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any])
        XCTAssertEqual(json["format"] as? String, "sparse-bitmask")
        XCTAssertEqual(json["targets"] as? [String], ["fc"])
        XCTAssertEqual(json["global_sparsity"] as? Double ?? -1, 18.0 / 22.0, accuracy: 1e-12)
        XCTAssertEqual(decisions.map(\.encoding), [.dense, .compressedTensors])
    }

    func testConvWeightRowOffsetsAreTheCumulativeSumAlongDimensionZero() throws {
        // [2, 2, 1, 3]: rows (o, i) hold 1, 2 | 3, 0 nonzeros → row_offsets[o][i] = Σ_{o' < o} counts[o'][i] = [[0, 0], [1, 2]].
        let v: [Float] = [1, 0, 0,  2, 3, 0,   4, 5, 6,  0, 0, 0]
        let (file, _) = try SparseStateDict.encode(["c.weight": f32(v, [2, 2, 1, 3])], metadata: [:], as: .compressedTensors, path: "t")
        XCTAssertEqual(file.tensors["c.row_offsets"], RawTensor(integers: [0, 0, 1, 2], dtype: .I64, shape: [2, 2, 1]))
        XCTAssertEqual(file.tensors["c.bitmask"], RawTensor(dtype: .U8, shape: [2, 2, 1, 1], bytes: [0b001, 0b011, 0b111, 0]))
        XCTAssertEqual(file.tensors["c.compressed"], f32([1, 2, 3, 4, 5, 6], [6]))
    }

    func testRoundTripIsBitIdenticalAndNegativeZeroStaysDense() throws {
        var values = (0..<60).map { i in i % 3 == 0 ? Float(0) : Float(i) * 0.37 - 9 }
        values[4] = .nan; values[5] = .infinity; values[7] = -.infinity
        let withNegativeZero = f32([1, -0.0, 0, 2], [2, 2])
        let tensors: [String: RawTensor] = [
            "a.weight": f32(values, [3, 4, 5]), "b.weight": withNegativeZero, "bn.weight": f32([1, 0], [2]),
            "bn.num_batches_tracked": RawTensor(integers: [7], dtype: .I64, shape: []),
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ct-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let decisions = try SparseStateDict.write(tensors, metadata: ["shears.mean": "0.5"], as: .compressedTensors, to: path)
        XCTAssertEqual(decisions.first { $0.name == "b.weight" }?.encoding, .dense, "-0.0 would come back as +0.0")
        XCTAssertEqual(decisions.first { $0.name == "a.weight" }?.encoding, .compressedTensors)
        let (decoded, info) = try SparseStateDict.read(path: path)
        XCTAssertEqual(decoded.format, .compressedTensors)
        XCTAssertEqual(decoded.tensors, tensors, "every tensor bit for bit")
        XCTAssertEqual(decoded.metadata["shears.mean"], "0.5", "the normalisation travels with the weights")
        XCTAssertEqual(info.encodedCount, 1)
    }

    func testFilesWithoutShearsMetadataAreRecognised() throws {
        let (file, _) = try SparseStateDict.encode(["l.weight": f32([0, 1, 0, 2], [2, 2])], metadata: [:], as: .compressedTensors, path: "t")
        var foreign = file
        foreign.metadata = ["format": "pt"]   // as the package itself writes it
        let decoded = try SparseStateDict.decode(foreign, path: "foreign.safetensors")
        XCTAssertEqual(decoded.tensors["l.weight"], f32([0, 1, 0, 2], [2, 2]))
    }

    func testMalformedPartsAreErrorsNamingFileAndModule() throws {
        let (file, _) = try SparseStateDict.encode(["l.weight": f32([0, 1, 0, 2, 3, 0], [2, 3])], metadata: [:], as: .compressedTensors, path: "t")
        var tooFew = file
        tooFew.tensors["l.compressed"] = f32([1, 2], [2])
        XCTAssertThrowsError(try SparseStateDict.decode(tooFew, path: "x.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("x.safetensors") && "\(e)".contains("\"l\"") && "\(e)".contains("marks 3"), "\(e)")
        }
        var badMask = file
        badMask.tensors["l.bitmask"] = RawTensor(dtype: .U8, shape: [2], bytes: [1, 1])
        XCTAssertThrowsError(try SparseStateDict.decode(badMask, path: "x.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("expected U8 [2, 1]"), "\(e)")
        }
        var noShape = file
        noShape.tensors["l.shape"] = nil
        XCTAssertThrowsError(try SparseStateDict.decode(noShape, path: "x.safetensors")) { e in XCTAssertTrue("\(e)".contains("l.shape"), "\(e)") }
        var both = file
        both.tensors["l.weight"] = f32([0, 0, 0, 0, 0, 0], [2, 3])
        XCTAssertThrowsError(try SparseStateDict.decode(both, path: "x.safetensors")) { e in XCTAssertTrue("\(e)".contains("both"), "\(e)") }
    }
}
