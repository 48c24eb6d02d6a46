import Foundation
import XCTest
import ShearsIO
import ShearsTensor

final class SafetensorsTests: XCTestCase {
    // MARK: round trips

    func testRoundTripEveryDTypeWeWrite() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/all.safetensors"
        // Values each dtype holds exactly.
        let values: [SafetensorsDType: [Float]] = [
            .F32: [0, -1.5, 3.25e-8, .greatestFiniteMagnitude, -.infinity],
            .F64: [0.1, -2, 1e-30, 7],
            .F16: [0.5, -2, 65504, 0x1p-24, 1.0009765625],
            .BF16: [1, -2.5, 3.140625, 0x1p100, -0x1p-100],
            .I64: [0, -1, 16_777_216, -8_589_934_592, 7],
            .I32: [2_147_483_520, -2_147_483_648, 0, 5],
            .I16: [-32768, 32767, 0, 12],
            .I8: [-128, 127, 0, -3],
            .U8: [0, 1, 128, 255],
            .BOOL: [0, 1, 1, 0],
        ]
        var tensors: [String: Tensor] = [:]
        var dtypes: [String: SafetensorsDType] = [:]
        for (dtype, xs) in values {
            tensors["t.\(dtype.rawValue)"] = Tensor(shape: [xs.count], scalars: xs)
            dtypes["t.\(dtype.rawValue)"] = dtype
        }
        try SafetensorsFile.write(path: path, tensors: tensors, dtypes: dtypes, metadata: ["k": "v"])
        let back = try SafetensorsFile.read(path: path)
        XCTAssertEqual(back.dtypes, dtypes)
        XCTAssertEqual(back.metadata, ["k": "v"])
        XCTAssertEqual(Set(back.tensors.keys), Set(tensors.keys))
        for (name, t) in tensors {
            XCTAssertEqual(back.tensors[name]?.shape, t.shape, name)
            XCTAssertEqual(back.tensors[name]?.scalars, t.scalars, name)
        }
        // Byte sizes on disk follow the dtypes.
        let total = values.reduce(0) { $0 + $1.value.count * $1.key.byteCount }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let headerLength = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(size, 8 + Int(headerLength) + total)
    }

    func testLossyConversionsRoundToNearest() throws {
        let path = try makeTempDir(self) + "/lossy.safetensors"
        let x: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-9, 0.1, .nan]
        try SafetensorsFile.write(path: path, tensors: ["b": Tensor(shape: [4], scalars: x), "h": Tensor(shape: [4], scalars: x)],
                                  dtypes: ["b": .BF16, "h": .F16])
        let f = try SafetensorsFile.read(path: path)
        let b = f.tensors["b"]!.scalars, h = f.tensors["h"]!.scalars
        XCTAssertEqual(b[0], 1)                    // halfway: ties to even
        XCTAssertEqual(b[1], 1 + 0x1p-7)           // above halfway: up
        XCTAssertEqual(b[2], 0.10009765625)        // PyTorch: torch.tensor(0.1).bfloat16() == 0.10009765625
        XCTAssertTrue(b[3].isNaN)
        XCTAssertEqual(h[2], Float(Float16(0.1)))
        XCTAssertTrue(h[3].isNaN)
    }

    func testRanksZeroToFourAndEmptyTensors() throws {
        let path = try makeTempDir(self) + "/ranks.safetensors"
        var g = Generator(seed: 3)
        let shapes: [[Int]] = [[], [5], [2, 3], [2, 3, 4], [2, 3, 4, 5], [0, 3], [0]]
        var tensors: [String: Tensor] = [:]
        for s in shapes { tensors["rank\(s.count).\(s.map(String.init).joined(separator: "x"))"] = Tensor.normal(s, generator: &g) }
        try SafetensorsFile.write(path: path, tensors: tensors)
        let back = try SafetensorsFile.read(path: path)
        for (name, t) in tensors {
            XCTAssertEqual(back.tensors[name]!.shape, t.shape, name)
            XCTAssertEqual(back.tensors[name]!.scalars, t.scalars, name)
            XCTAssertEqual(back.dtypes[name], .F32)
        }
        XCTAssertEqual(back.tensors["rank0."]!.rank, 0)
    }

    func testChannelsLastIsWrittenInLogicalOrder() throws {
        let path = try makeTempDir(self) + "/cl.safetensors"
        let logical = (0..<(2 * 3 * 4 * 5)).map(Float.init)
        let t = Tensor(shape: [2, 3, 4, 5], scalars: logical).channelsLast()
        XCTAssertEqual(t.format, .channelsLast)
        try SafetensorsFile.write(path: path, tensors: ["act": t])
        // The data section holds 0, 1, 2, … (NCHW row-major), not the NHWC storage order.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(Array(bytes[(8 + n)...]), f32Bytes(logical))
        let back = try SafetensorsFile.read(path: path).tensors["act"]!
        XCTAssertEqual(back.format, .contiguous)
        XCTAssertEqual(back.shape, [2, 3, 4, 5])
        XCTAssertEqual(back.scalars, logical)
    }

    func testHeaderLayoutIsSortedContiguousAndPadded() throws {
        let path = try makeTempDir(self) + "/layout.safetensors"
        try SafetensorsFile.write(path: path,
                                  tensors: ["b": Tensor(shape: [3], repeating: 1), "a": Tensor(shape: [2, 2], repeating: 2),
                                            "c\"quoted\"\nname é": Tensor(4)],
                                  dtypes: ["c\"quoted\"\nname é": .I64],
                                  metadata: ["format": "pt", "note": "tab\there \"quotes\" ünï"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(n % 8, 0, "header padded to a multiple of 8")
        // Parse the header with Foundation's JSON parser, independently of ours.
        let header = try JSONSerialization.jsonObject(with: bytes[8..<(8 + n)]) as! [String: Any]
        XCTAssertEqual(header["__metadata__"] as? [String: String], ["format": "pt", "note": "tab\there \"quotes\" ünï"])
        func offsets(_ k: String) -> [Int] { (header[k] as! [String: Any])["data_offsets"] as! [Int] }
        XCTAssertEqual(offsets("a"), [0, 16])
        XCTAssertEqual(offsets("b"), [16, 28])
        XCTAssertEqual(offsets("c\"quoted\"\nname é"), [28, 36])
        XCTAssertEqual((header["c\"quoted\"\nname é"] as! [String: Any])["shape"] as! [Int], [])
        XCTAssertEqual(bytes.count, 8 + n + 36)
        let back = try SafetensorsFile.read(path: path)
        XCTAssertEqual(back.tensors["c\"quoted\"\nname é"]?.scalars, [4])
        XCTAssertEqual(back.metadata["note"], "tab\there \"quotes\" ünï")
    }

    // MARK: the PyTorch-side fixture

    func testReadsFileWrittenBySafetensorsPython() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "pytorch_like", withExtension: "safetensors", subdirectory: "Fixtures"))
        let f = try SafetensorsFile.read(path: url.path)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.dtypes, ["fc1.weight": .F32, "fc1.bias": .F32, "bn1.num_batches_tracked": .I64, "x.f64": .F64, "x.f16": .F16])
        XCTAssertEqual(f.tensors["fc1.weight"]?.shape, [3, 2])
        XCTAssertEqual(f.tensors["fc1.weight"]?.scalars, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(f.tensors["fc1.weight"]?[2, 1], 5)
        XCTAssertEqual(f.tensors["fc1.bias"]?.shape, [3])
        XCTAssertEqual(f.tensors["fc1.bias"]?.scalars, [0.5, -1.25, 3.0])
        XCTAssertEqual(f.tensors["bn1.num_batches_tracked"]?.shape, [])
        XCTAssertEqual(f.tensors["bn1.num_batches_tracked"]?.scalar, 7)
        XCTAssertEqual(f.tensors["x.f64"]?.scalars, [1.5, -2.25])
        XCTAssertEqual(f.tensors["x.f16"]?.scalars, [0.5, -65504])

        // Re-writing it with the same dtypes keeps every value and dtype.
        let path = try makeTempDir(self) + "/rewritten.safetensors"
        try f.write(path: path)
        let g = try SafetensorsFile.read(path: path)
        XCTAssertEqual(g.dtypes, f.dtypes)
        XCTAssertEqual(g.metadata, f.metadata)
        for (k, t) in f.tensors { XCTAssertEqual(g.tensors[k]?.scalars, t.scalars, k); XCTAssertEqual(g.tensors[k]?.shape, t.shape, k) }
    }

    // MARK: errors

    private func writeRaw(_ data: Data, _ name: String = "bad.safetensors") throws -> String {
        let path = try makeTempDir(self) + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testMissingFileAndDirectory() throws {
        let dir = try makeTempDir(self)
        assertIOError(dir + "/nope.safetensors", ["no such file"]) { _ = try SafetensorsFile.read(path: dir + "/nope.safetensors") }
        assertIOError(dir, ["directory"]) { _ = try SafetensorsFile.read(path: dir) }
    }

    func testFileShorterThanEightBytes() throws {
        let path = try writeRaw(Data([1, 2, 3, 4, 5]))
        assertIOError(path, ["5 bytes", "8-byte header length"]) { _ = try SafetensorsFile.read(path: path) }
        let empty = try writeRaw(Data(), "empty.safetensors")
        assertIOError(empty, ["0 bytes"]) { _ = try SafetensorsFile.read(path: empty) }
    }

    func testHeaderLengthBeyondFileSize() throws {
        let path = try writeRaw(rawSafetensors("{}", data: [], headerLength: 1_000_000))
        assertIOError(path, ["header length 1000000", "exceeds the 8 bytes"]) { _ = try SafetensorsFile.read(path: path) }
        let huge = try writeRaw(rawSafetensors("{}", data: [], headerLength: UInt64.max), "huge.safetensors")
        assertIOError(huge, ["header length 18446744073709551615"]) { _ = try SafetensorsFile.read(path: huge) }
    }

    func testInvalidJSON() throws {
        let path = try writeRaw(rawSafetensors(#"{"a": {"dtype": "F32","#, data: []))
        assertIOError(path, ["header is not valid JSON"]) { _ = try SafetensorsFile.read(path: path) }
        let notObject = try writeRaw(rawSafetensors("[1, 2]", data: []), "array.safetensors")
        assertIOError(notObject, ["must be a JSON object", "found an array"]) { _ = try SafetensorsFile.read(path: notObject) }
        let dup = try writeRaw(rawSafetensors(#"{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}"#,
                                              data: f32Bytes([1, 2])), "dup.safetensors")
        assertIOError(dup, ["duplicate key \"a\""]) { _ = try SafetensorsFile.read(path: dup) }
        let notUTF8 = try writeRaw(rawSafetensors("{\"\u{FF}\":1}", data: []).replacingByte(at: 10, with: 0xFF), "utf8.safetensors")
        assertIOError(notUTF8, ["UTF-8"]) { _ = try SafetensorsFile.read(path: notUTF8) }
        let badMeta = try writeRaw(rawSafetensors(#"{"__metadata__":{"epoch":3}}"#, data: []), "meta.safetensors")
        assertIOError(badMeta, ["__metadata__", "\"epoch\" must be a string"]) { _ = try SafetensorsFile.read(path: badMeta) }
    }

    func testUnknownDType() throws {
        let path = try writeRaw(rawSafetensors(#"{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, data: [0, 0]))
        assertIOError(path, ["tensor \"w\"", "unknown dtype \"F8_E4M3\"", "F32"]) { _ = try SafetensorsFile.read(path: path) }
    }

    func testMalformedTensorEntries() throws {
        let cases: [(String, [String])] = [
            (#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, ["tensor \"w\"", "missing \"dtype\""]),
            (#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, ["tensor \"w\"", "\"shape\"", "-1"]),
            (#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, ["tensor \"w\"", "\"shape\""]),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, ["tensor \"w\"", "data_offsets"]),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, ["tensor \"w\"", "end before they begin"]),
            (#"{"w":[1,2]}"#, ["tensor \"w\"", "found an array"]),
        ]
        for (i, (header, fragments)) in cases.enumerated() {
            let path = try writeRaw(rawSafetensors(header, data: f32Bytes([1])), "m\(i).safetensors")
            assertIOError(path, fragments) { _ = try SafetensorsFile.read(path: path) }
        }
    }

    func testOffsetsOutOfRange() throws {
        let path = try writeRaw(rawSafetensors(#"{"w":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}}"#, data: f32Bytes([1, 2, 3, 4, 5, 6])))
        assertIOError(path, ["tensor \"w\"", "[0, 100]", "out of range", "24 bytes"]) { _ = try SafetensorsFile.read(path: path) }
    }

    func testOffsetsNotMatchingShapeTimesDType() throws {
        let path = try writeRaw(rawSafetensors(#"{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,20]}}"#, data: Array(repeating: 0, count: 20)))
        assertIOError(path, ["tensor \"w\"", "hold 20 bytes", "F32 [3, 2] needs 24"]) { _ = try SafetensorsFile.read(path: path) }
        let i64 = try writeRaw(rawSafetensors(#"{"n":{"dtype":"I64","shape":[],"data_offsets":[0,4]}}"#, data: [7, 0, 0, 0]), "i64.safetensors")
        assertIOError(i64, ["tensor \"n\"", "I64 [] needs 8"]) { _ = try SafetensorsFile.read(path: i64) }
        let overflow = try writeRaw(rawSafetensors(#"{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#,
                                                   data: Array(repeating: 0, count: 8)), "overflow.safetensors")
        assertIOError(overflow, ["tensor \"w\"", "more than the file can hold"]) { _ = try SafetensorsFile.read(path: overflow) }
    }

    func testOverlappingTensors() throws {
        let path = try writeRaw(rawSafetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
                                               data: f32Bytes([1, 2, 3, 4, 5, 6])))
        assertIOError(path, ["\"a\"", "\"b\"", "overlap"]) { _ = try SafetensorsFile.read(path: path) }
        let same = try writeRaw(rawSafetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                                               data: f32Bytes([1, 2])), "same.safetensors")
        assertIOError(same, ["\"a\"", "\"b\"", "overlap"]) { _ = try SafetensorsFile.read(path: same) }
    }

    func testDataSectionNotFullyCovered() throws {
        let trailing = try writeRaw(rawSafetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: f32Bytes([1, 2, 3])))
        assertIOError(trailing, ["holds 12 bytes", "cover only 8", "[8, 12)"]) { _ = try SafetensorsFile.read(path: trailing) }
        let gap = try writeRaw(rawSafetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                                              data: f32Bytes([1, 2, 3])), "gap.safetensors")
        assertIOError(gap, ["[4, 8)", "belong to no tensor", "after \"a\"", "\"b\""]) { _ = try SafetensorsFile.read(path: gap) }
        let start = try writeRaw(rawSafetensors(#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: f32Bytes([1, 2])), "start.safetensors")
        assertIOError(start, ["[0, 4)", "\"b\""]) { _ = try SafetensorsFile.read(path: start) }
    }

    func testTruncatedAndCorruptedFilesNeverCrash() throws {
        let dir = try makeTempDir(self)
        let good = dir + "/good.safetensors"
        try SafetensorsFile.write(path: good, tensors: ["a": Tensor(shape: [3, 2], repeating: 1), "n": Tensor(5)],
                                  dtypes: ["n": .I64], metadata: ["format": "pt"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let cut = dir + "/cut.safetensors"
        // Every strict prefix of a valid file is rejected with an IOError naming the file.
        for length in 0..<bytes.count {
            try bytes.prefix(length).write(to: URL(fileURLWithPath: cut))
            assertIOError(cut, []) { _ = try SafetensorsFile.read(path: cut) }
        }
        // Flipping any single byte of the header either still parses or is an IOError; never a crash.
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for i in 0..<(8 + n) {
            try bytes.replacingByte(at: i, with: bytes[i] ^ 0x5A).write(to: URL(fileURLWithPath: cut))
            do { _ = try SafetensorsFile.read(path: cut) } catch let e as IOError { XCTAssertEqual(e.path, cut) }
        }
    }

    func testWriteRejectsValuesTheDTypeCannotHold() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/int.safetensors"
        assertIOError(path, ["tensor \"n\"", "element 1 is 2.5", "I64"]) {
            try SafetensorsFile.write(path: path, tensors: ["n": Tensor(shape: [2], scalars: [1, 2.5])], dtypes: ["n": .I64])
        }
        assertIOError(path, ["tensor \"u\"", "256.0", "U8"]) {
            try SafetensorsFile.write(path: path, tensors: ["u": Tensor(shape: [1], scalars: [256])], dtypes: ["u": .U8])
        }
        assertIOError(path, ["tensor \"b\"", "BOOL"]) {
            try SafetensorsFile.write(path: path, tensors: ["b": Tensor(shape: [1], scalars: [2])], dtypes: ["b": .BOOL])
        }
        assertIOError(path, ["tensor \"i\"", "nan"]) {
            try SafetensorsFile.write(path: path, tensors: ["i": Tensor(shape: [1], scalars: [.nan])], dtypes: ["i": .I32])
        }
        assertIOError(path, ["\"ghost\"", "not among the tensors"]) {
            try SafetensorsFile.write(path: path, tensors: ["a": Tensor(1)], dtypes: ["ghost": .I64])
        }
        assertIOError(path, ["__metadata__", "reserved"]) {
            try SafetensorsFile.write(path: path, tensors: ["__metadata__": Tensor(1)])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))
        let nowhere = dir + "/no/such/dir/x.safetensors"
        assertIOError(nowhere, ["cannot create", ".tmp"]) { try SafetensorsFile.write(path: nowhere, tensors: ["a": Tensor(1)]) }
    }

    // MARK: atomic writes

    func testAtomicWriteLeavesNoTmpAndReplacesOldFile() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/ckpt.safetensors"
        try SafetensorsFile.write(path: path, tensors: ["w": Tensor(shape: [2], scalars: [1, 2])])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))
        // A stale .tmp from a killed run does not get in the way, and is gone afterwards.
        try Data("half a checkpoint".utf8).write(to: URL(fileURLWithPath: path + ".tmp"))
        try SafetensorsFile.write(path: path, tensors: ["w": Tensor(shape: [3], scalars: [3, 4, 5])])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))
        XCTAssertEqual(try SafetensorsFile.read(path: path).tensors["w"]?.scalars, [3, 4, 5])
        // A write that fails (a value I64 cannot hold) leaves the previous file as it was.
        XCTAssertThrowsError(try SafetensorsFile.write(path: path, tensors: ["w": Tensor(0.5)], dtypes: ["w": .I64]))
        XCTAssertEqual(try SafetensorsFile.read(path: path).tensors["w"]?.scalars, [3, 4, 5])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["ckpt.safetensors"])
    }
}

extension Data {
    func replacingByte(at i: Int, with b: UInt8) -> Data {
        var d = self
        d[d.startIndex + i] = b
        return d
    }
}
