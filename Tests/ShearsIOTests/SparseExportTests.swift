import Foundation
import XCTest
@testable import ShearsIO
import ShearsNN
import ShearsTensor

final class SparseExportTests: XCTestCase {
    // MARK: fixtures

    /// `count` float32 values of which the fraction `sparsity` (rounded down) is +0.0, the rest drawn from a normal
    /// distribution and never +0.0; `specials` overwrite nonzero positions in order (-0.0, NaN, ±inf, …).
    private func values(_ count: Int, sparsity: Double, seed: UInt64, specials: [Float] = []) -> [Float] {
        var g = Generator(seed: seed)
        var xs = (0..<count).map { _ -> Float in
            let x = Float(g.nextNormal())
            return x == 0 ? 1 : x
        }
        let zeros = Int(Double(count) * sparsity)
        let order = g.permutation(count)
        for i in order.prefix(zeros) { xs[i] = 0 }
        for (k, i) in order.dropFirst(zeros).prefix(specials.count).enumerated() { xs[i] = specials[k] }
        return xs
    }

    private func f32(_ xs: [Float], _ shape: [Int]) -> RawTensor { RawTensor(float32: xs, shape: shape) }

    /// Special values whose bits must survive: -0.0, a quiet NaN with a payload, a negative NaN, ±inf, the
    /// smallest subnormal and the largest finite float.
    private let specials: [Float] = [-0.0, Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFFC0_0001), .infinity,
                                     -.infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude]

    /// A state dict of odd shapes at one sparsity: 4-D, 2-D, 1-D, a scalar, an empty tensor, an I64 counter
    /// above 2^24 and an F16 tensor.
    private func oddStateDict(sparsity: Double, seed: UInt64) -> [String: RawTensor] {
        [
            "conv.weight": f32(values(16 * 5 * 3 * 3, sparsity: sparsity, seed: seed, specials: specials), [16, 5, 3, 3]),
            "fc.weight": f32(values(13 * 61, sparsity: sparsity, seed: seed + 1, specials: specials), [13, 61]),
            "fc.bias": f32(values(13, sparsity: sparsity, seed: seed + 2), [13]),
            "long": f32(values(1001, sparsity: sparsity, seed: seed + 3, specials: specials), [1001]),
            "scale": f32([sparsity == 1 ? 0 : -0.0], []),
            "empty": f32([], [0, 4]),
            "bn.num_batches_tracked": RawTensor(integers: [16_777_217], dtype: .I64, shape: []),
            "half": try! RawTensor(Tensor(shape: [3], scalars: [0, 0.5, -2]), dtype: .F16),
        ]
    }

    private func size(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    }

    // MARK: round trips

    func testEveryFormatRoundTripsBitIdenticallyAtEverySparsity() throws {
        let dir = try makeTempDir(self)
        for sparsity in [0, 0.5, 0.9, 0.99, 1] {
            let original = oddStateDict(sparsity: sparsity, seed: UInt64(sparsity * 100))
            // Shears' own layouts; compressed-tensors encodes by name and rank, not by size (CompressedTensorsTests).
            for format in [StateDictFormat.dense, .bitmask, .csr] {
                let path = "\(dir)/\(format.rawValue)-\(sparsity).safetensors"
                let decisions = try SparseStateDict.write(original, metadata: ["format": "pt", "note": "x"], as: format, to: path)
                let (decoded, info) = try SparseStateDict.read(path: path)
                let what = "\(format.rawValue) at \(sparsity)"
                XCTAssertEqual(decoded.format, format, what)
                XCTAssertTrue(decoded.declared, what)
                XCTAssertEqual(decoded.metadata, ["format": "pt", "note": "x"], what)
                XCTAssertEqual(Set(decoded.tensors.keys), Set(original.keys), what)
                for (name, t) in original { XCTAssertEqual(decoded.tensors[name], t, "\(name), \(what)") }
                XCTAssertEqual(info.format, format)
                XCTAssertEqual(info.tensorCount, original.count)
                XCTAssertEqual(info.fileBytes, try size(path))

                // What was encoded: never a non-F32 tensor, a scalar or an empty one; the sparse matrices once
                // they are sparse enough, and the file records exactly the encoded ones.
                let encoded = Set(decisions.filter { $0.encoding != .dense }.map(\.name))
                XCTAssertEqual(Set(decoded.encodings.keys), encoded, what)
                XCTAssertTrue(encoded.isDisjoint(with: ["scale", "empty", "bn.num_batches_tracked", "half"]), what)
                if format == .dense || sparsity == 0 {
                    XCTAssertTrue(encoded.isEmpty, what)
                } else if sparsity >= 0.5 {
                    XCTAssertTrue(encoded.isSuperset(of: ["conv.weight", "fc.weight", "long"]), "\(what): \(encoded)")
                }
                for d in decisions where d.encoding != .dense { XCTAssertLessThan(d.encodedBytes, d.denseBytes, d.name) }
            }
        }
    }

    func testTheCodecsThemselvesRoundTripEvenWhereTheyLose() throws {
        // At 0 % sparsity the exporter keeps tensors dense; the encoders and decoders must still be exact there.
        for sparsity in [0, 0.5, 0.9, 0.99, 1] {
            for shape in [[1], [8], [9], [3, 7], [2, 3, 5, 7], [40_000]] {
                let n = shape.reduce(1, *)
                let t = f32(values(n, sparsity: sparsity, seed: UInt64(n), specials: Array(specials.prefix(max(0, n - Int(Double(n) * sparsity))))), shape)
                let nnz = t.count - SparseStateDict.positiveZeros(t)
                for format in [StateDictFormat.bitmask, .csr] {
                    let raw = format == .bitmask ? SparseStateDict.bitmaskParts(t, nnz: nnz) : SparseStateDict.csrParts(t, nnz: nnz)
                    let context = SparseStateDict.DecodeContext(path: "p", name: "w", encoding: format, shape: shape,
                                                                parts: Dictionary(uniqueKeysWithValues: raw))
                    let back = format == .bitmask ? try context.bitmask() : try context.csr()
                    XCTAssertEqual(back, t, "\(format.rawValue) \(shape) at \(sparsity)")
                    XCTAssertEqual(Dictionary(uniqueKeysWithValues: raw)["values"]?.count, nnz)
                }
            }
        }
        // CSR picks its index types from the grid: I16 up to 32768 columns, I32 above; I32 row offsets.
        let wide = SparseStateDict.csrParts(f32([0, 2] + [Float](repeating: 0, count: 32_767), [32_769]), nnz: 1)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: wide)["col_indices"]?.dtype, .I32)
        let narrow = SparseStateDict.csrParts(f32([Float](repeating: 1, count: 2 * 32_768), [2, 32_768]), nnz: 2 * 32_768)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: narrow)["col_indices"]?.dtype, .I16)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: narrow)["row_offsets"]?.integers, [0, 32_768, 65_536])
    }

    func testMinusZeroIsAStoredValueAndBitOrderIsLSBFirst() throws {
        let path = try makeTempDir(self) + "/z.safetensors"
        // Elements 1 (-0.0) and 9 (NaN) are stored; everything else is +0.0.
        var xs = [Float](repeating: 0, count: 64)
        xs[1] = -0.0
        xs[9] = .nan
        try SparseStateDict.write(["w": f32(xs, [4, 16])], metadata: [:], as: .bitmask, to: path)
        let raw = try SafetensorsRawFile.read(path: path)
        XCTAssertEqual(raw.metadata["shears.format"], "bitmask")
        XCTAssertEqual(raw.metadata["shears.version"], "1")
        XCTAssertEqual(raw.metadata["shears.encoding.w"], "bitmask")
        XCTAssertEqual(raw.metadata["shears.shape.w"], "4,16")
        XCTAssertEqual(raw.tensors["w.__bitmask"]?.bytes, [0b0000_0010, 0b0000_0010, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(raw.tensors["w.__values"]?.float32Bits, [(-0.0 as Float).bitPattern, Float.nan.bitPattern])
        XCTAssertNil(raw.tensors["w"])
        let back = try SparseStateDict.read(path: path).decoded.tensors["w"]!.float32Bits
        XCTAssertEqual(back, xs.map(\.bitPattern))
        XCTAssertEqual(back[1], 0x8000_0000)
    }

    func testIntegersAbove2To24SurviveTheRawPath() throws {
        let path = try makeTempDir(self) + "/ints.safetensors"
        let file = SafetensorsRawFile(tensors: [
            "i64": RawTensor(integers: [16_777_217, -(1 << 40) - 1, .max, .min], dtype: .I64, shape: [2, 2]),
            "i32": RawTensor(integers: [16_777_217, Int64(Int32.max), Int64(Int32.min)], dtype: .I32, shape: [3]),
            "i16": RawTensor(integers: [-32768, 32767, 1], dtype: .I16, shape: [3]),
            "u8": RawTensor(integers: [0, 255, 128], dtype: .U8, shape: [3]),
            "f32": f32([Float(bitPattern: 0x7FC0_0ABC), -0.0], [2]),
        ], metadata: ["k": "v"])
        try file.write(path: path)
        let back = try SafetensorsRawFile.read(path: path)
        XCTAssertEqual(back, file)
        XCTAssertEqual(back.tensors["i64"]?.integers, [16_777_217, -(1 << 40) - 1, .max, .min])
        XCTAssertEqual(back.tensors["i32"]?.integers, [16_777_217, Int64(Int32.max), Int64(Int32.min)])
        XCTAssertEqual(back.encodedSize, try size(path))
        // The float32 reader cannot tell 16,777,217 from 16,777,216: why the sparse parts never go through it.
        XCTAssertEqual(try SafetensorsFile.read(path: path).tensors["i32"]?.scalars.first, 16_777_216)
    }

    func testCSRColumnIndicesAbove2To24() throws {
        // One row of 2^24 + 3 columns: the last stored element's column index is 16,777,218 (I32).
        let path = try makeTempDir(self) + "/wide.safetensors"
        let n = (1 << 24) + 3
        var bytes = [UInt8](repeating: 0, count: 4 * n)
        for (i, x) in [(5, 1.5), (n - 2, -3), (n - 1, 7)] as [(Int, Float)] {
            withUnsafeBytes(of: x.bitPattern.littleEndian) { for k in 0..<4 { bytes[4 * i + k] = $0[k] } }
        }
        let original = ["row": RawTensor(dtype: .F32, shape: [n], bytes: bytes)]
        try SparseStateDict.write(original, metadata: [:], as: .csr, to: path)
        let raw = try SafetensorsRawFile.read(path: path)
        XCTAssertEqual(raw.tensors["row.__col_indices"]?.dtype, .I32)
        XCTAssertEqual(raw.tensors["row.__col_indices"]?.integers, [5, 16_777_217, 16_777_218])
        XCTAssertEqual(try SparseStateDict.decode(raw, path: path).tensors, original)
        XCTAssertLessThan(try size(path), 400)
    }

    func testRawAndFloatReadersRejectMalformedFilesAlike() throws {
        let dir = try makeTempDir(self)
        let cases: [(String, Data)] = [
            ("short", Data([1, 2, 3])),
            ("length", rawSafetensors("{}", data: [], headerLength: 999)),
            ("json", rawSafetensors("{\"a\":", data: [])),
            ("offsets", rawSafetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}"#, data: f32Bytes([1, 2, 3]))),
            ("gap", rawSafetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: f32Bytes([1, 2]))),
            ("dtype", rawSafetensors(#"{"a":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8))),
        ]
        for (name, bytes) in cases {
            let path = "\(dir)/\(name).safetensors"
            try bytes.write(to: URL(fileURLWithPath: path))
            var floatError: IOError?, rawError: IOError?
            do { _ = try SafetensorsFile.read(path: path) } catch let e as IOError { floatError = e }
            do { _ = try SafetensorsRawFile.read(path: path) } catch let e as IOError { rawError = e }
            XCTAssertNotNil(rawError, name)
            XCTAssertEqual(rawError, floatError, name)
        }
    }

    // MARK: sizes

    /// A LeNet-300-100 state dict with each weight matrix pruned to `sparsity` by magnitude (biases dense).
    private func prunedLeNet(_ sparsity: Double, seed: UInt64 = 3) throws -> (any Layer, String) {
        var g = Generator(seed: seed)
        let model = try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g)
        for (name, p) in model.namedParameters where name.hasSuffix("weight") {
            var xs = p.value.scalars
            let k = Int(Double(xs.count) * sparsity)
            // Normal draws have no ties: zeroing |x| ≤ the k-th smallest magnitude zeroes exactly k weights.
            if k > 0 {
                let threshold = xs.map(abs).sorted()[k - 1]
                for i in xs.indices where abs(xs[i]) <= threshold { xs[i] = 0 }
            }
            p.value = Tensor(shape: p.value.shape, scalars: xs)
        }
        let path = try makeTempDir(self) + "/lenet-\(sparsity).safetensors"
        try saveStateDict(model, to: path)
        return (model, path)
    }

    func testSizesFallWithSparsityAndBitmaskIsAtMost15PercentAt90() throws {
        let dir = try makeTempDir(self)
        var sizes: [StateDictFormat: [Int]] = [:]
        for sparsity in [0, 0.5, 0.9, 0.99] {
            let (_, input) = try prunedLeNet(sparsity)
            let (decoded, _) = try SparseStateDict.read(path: input)
            for format in StateDictFormat.allCases {
                let out = "\(dir)/\(format.rawValue)-\(sparsity).safetensors"
                try SparseStateDict.write(decoded.tensors, metadata: decoded.metadata, as: format, to: out)
                sizes[format, default: []].append(try size(out))
            }
        }
        let dense = sizes[.dense]!
        XCTAssertEqual(Set(dense).count, 1, "the dense size does not depend on sparsity: \(dense)")
        XCTAssertGreaterThan(dense[0], 266_610 * 4)
        for format in [StateDictFormat.bitmask, .csr] {
            let s = sizes[format]!
            XCTAssertLessThanOrEqual(abs(s[0] - dense[0]), 8, "\(format.rawValue) at 0 % stays dense (only the format name differs)")
            for i in 1..<s.count { XCTAssertLessThan(s[i], s[i - 1], "\(format.rawValue): \(s)") }
            XCTAssertLessThan(s[2], dense[2], "\(format.rawValue) at 90 %")
        }
        XCTAssertLessThanOrEqual(Double(sizes[.bitmask]![2]), 0.15 * Double(dense[2]), "bitmask at 90 %: \(sizes[.bitmask]!) vs \(dense)")
        XCTAssertLessThanOrEqual(Double(sizes[.bitmask]![3]), 0.05 * Double(dense[3]), "bitmask at 99 %")
    }

    // MARK: loading into models

    func testLoadStateDictReadsEveryFormatAndReportsIt() throws {
        let (model, input) = try prunedLeNet(0.9)
        let (decoded, _) = try SparseStateDict.read(path: input)
        let zeros = model.stateDict.reduce(0) { $0 + $1.1.value.scalars.filter { $0 == 0 }.count }
        let dir = try makeTempDir(self)
        for format in StateDictFormat.allCases {
            let path = "\(dir)/\(format.rawValue).safetensors"
            try SparseStateDict.write(decoded.tensors, metadata: decoded.metadata, as: format, to: path)
            var g = Generator(seed: 77)
            let other = try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g)
            let info = try loadStateDict(other, from: path)
            XCTAssertEqual(info.format, format)
            XCTAssertTrue(info.summary.hasPrefix("\(path) (\(format.rawValue), "), info.summary)
            XCTAssertEqual(info.zeroElements, zeros)
            XCTAssertGreaterThanOrEqual(info.sparsity, 0.9 * 266_200 / 266_610)
            if format == .bitmask {
                XCTAssertLessThan(info.sizeRatio, 0.15)
                XCTAssertTrue(info.summary.hasSuffix("% of dense size)"), info.summary)
            }
            for ((name, a), (_, b)) in zip(model.stateDict, other.stateDict) {
                XCTAssertEqual(a.value.scalars.map(\.bitPattern), b.value.scalars.map(\.bitPattern), "\(name) from \(format.rawValue)")
            }
        }
        // A plain file (no shears.format) reports dense at 100 % of its own size.
        var g = Generator(seed: 78)
        let info = try loadStateDict(try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g), from: input)
        XCTAssertEqual(info.format, .dense)
        XCTAssertFalse(info.declared)
        XCTAssertEqual(info.sizeRatio, 1)
        // Read as float32, an encoded file is refused rather than decoded inexactly.
        let bitmask = "\(dir)/bitmask.safetensors"
        assertIOError(bitmask, ["bitmask export", "load it by path"]) {
            try loadStateDict(model, from: SafetensorsFile.read(path: bitmask), source: bitmask)
        }
    }

    func testResNetWithBatchNormBuffersRoundTripsThroughCSR() throws {
        var g = Generator(seed: 5)
        let net = ResNetCIFAR(depth: 8, classes: 10, generator: &g)
        _ = Context.with(.training) { GradMode.withoutGrad { net(Variable(Tensor.normal([2, 3, 32, 32], generator: &g))) } }
        for (_, p) in net.namedParameters where p.value.rank == 4 {
            var xs = p.value.contiguous().scalars
            for i in xs.indices where i % 10 != 0 { xs[i] = 0 }
            p.value = Tensor(shape: p.value.shape, scalars: xs).in(p.value.format)
        }
        let dir = try makeTempDir(self)
        try saveStateDict(net, to: dir + "/dense.safetensors")
        let (decoded, _) = try SparseStateDict.read(path: dir + "/dense.safetensors")
        let decisions = try SparseStateDict.write(decoded.tensors, metadata: decoded.metadata, as: .csr, to: dir + "/csr.safetensors")
        XCTAssertTrue(decisions.contains { $0.name == "conv1.weight" && $0.encoding == .csr })
        XCTAssertTrue(decisions.contains { $0.name == "bn1.num_batches_tracked" && $0.encoding == .dense && $0.dtype == .I64 })
        XCTAssertTrue(decisions.contains { $0.name == "bn1.running_var" && $0.encoding == .dense })
        var g2 = Generator(seed: 6)
        let other = ResNetCIFAR(depth: 8, classes: 10, generator: &g2)
        XCTAssertEqual(try loadStateDict(other, from: dir + "/csr.safetensors").format, .csr)
        for ((name, a), (_, b)) in zip(net.stateDict, other.stateDict) {
            XCTAssertEqual(a.value.contiguous().scalars.map(\.bitPattern), b.value.contiguous().scalars.map(\.bitPattern), name)
        }
    }

    // MARK: refusals and corruption

    /// A valid export of one 4×50 matrix with 6 stored values (row 0: columns 0, 3, 9; rows 1–3: columns 2, 5, 9),
    /// its raw file, and where to write it.
    private func export(_ format: StateDictFormat) throws -> (SafetensorsRawFile, String) {
        var xs = [Float](repeating: 0, count: 200)
        for (i, v) in [(0, 1), (3, 2), (9, 3), (52, 4), (105, 5), (159, 6)] as [(Int, Float)] { xs[i] = v }
        let (file, decisions) = try SparseStateDict.encode(["w": f32(xs, [4, 50]), "b": f32([1, 2, 3, 4], [4])],
                                                           metadata: [:], as: format, path: "unused")
        XCTAssertEqual(decisions.first { $0.name == "w" }?.encoding, format)
        return (file, try makeTempDir(self) + "/corrupt.safetensors")
    }

    /// Asserts that `file` written to `path` fails to load with an IOError naming `path` and saying `fragments`.
    private func assertRejected(_ file: SafetensorsRawFile, _ path: String, _ fragments: [String],
                                line: UInt = #line) throws {
        try file.write(path: path)
        assertIOError(path, fragments, line: line) { _ = try SparseStateDict.read(path: path) }
    }

    private func replacing(_ file: SafetensorsRawFile, _ name: String, integers: [Int64]? = nil, bytes: [UInt8]? = nil,
                           dtype: SafetensorsDType? = nil) -> SafetensorsRawFile {
        var f = file
        let t = f.tensors[name]!
        if let integers {
            f.tensors[name] = RawTensor(integers: integers, dtype: dtype ?? t.dtype, shape: [integers.count])
        } else if let bytes {
            f.tensors[name] = RawTensor(dtype: dtype ?? t.dtype, shape: [bytes.count / (dtype ?? t.dtype).byteCount], bytes: bytes)
        }
        return f
    }

    func testHeaderLevelCorruption() throws {
        let (file, path) = try export(.bitmask)
        var f = file
        f.metadata["shears.format"] = "zstd"
        try assertRejected(f, path, ["unknown shears.format \"zstd\"", "dense, bitmask, csr"])
        f = file
        f.metadata["shears.version"] = "2"
        try assertRejected(f, path, ["shears.version is \"2\"", "version 1"])
        f = file
        f.metadata["shears.encoding.w"] = "rle"
        try assertRejected(f, path, ["tensor \"w\"", "unknown encoding \"rle\""])
        f = file
        f.metadata["shears.encoding.w"] = "csr"
        try assertRejected(f, path, ["tensor \"w\" is encoded as csr", "shears.format is bitmask"])
        f = file
        f.metadata["shears.shape.w"] = "4,x"
        try assertRejected(f, path, ["tensor \"w\" (bitmask)", "\"4,x\"", "joined by commas"])
        f = file
        f.metadata["shears.shape.w"] = nil
        try assertRejected(f, path, ["tensor \"w\" (bitmask)", "lacks shears.shape.w"])
        f = file
        f.metadata["shears.encoding.w"] = nil
        f.metadata["shears.shape.w"] = nil
        try assertRejected(f, path, ["looks like a part of an encoded tensor \"w\"", "no shears.encoding.w"])
        f = file
        f.tensors["w"] = f32([1], [1])
        try assertRejected(f, path, ["tensor \"w\" is stored both dense and as bitmask"])
        f = file
        f.tensors["w.__extra"] = f32([1], [1])
        try assertRejected(f, path, ["tensor \"w\" (bitmask)", "unexpected entry \"w.__extra\""])
        f = file
        f.tensors["w.__values"] = nil
        try assertRejected(f, path, ["tensor \"w\" (bitmask)", "missing \"w.__values\""])
        f = file
        f.metadata["shears.format"] = nil
        try assertRejected(f, path, ["no \"shears.format\""])

        // A truncated file: the last tensor's data runs past the end.
        try file.write(path: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.dropLast(3).write(to: URL(fileURLWithPath: path))
        assertIOError(path, ["tensor \"w.__values\"", "out of range"]) { _ = try SparseStateDict.read(path: path) }
        var g = Generator(seed: 1)
        let model = try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g)
        assertIOError(path, ["out of range"]) { try loadStateDict(model, from: path) }
    }

    func testBitmaskCorruption() throws {
        let (file, path) = try export(.bitmask)
        let mask = file.tensors["w.__bitmask"]!.bytes
        XCTAssertEqual(mask.count, 25)
        var m = mask
        m[1] |= 0b1000_0000   // a 7th set bit for 6 values
        try assertRejected(replacing(file, "w.__bitmask", bytes: m), path,
                           ["tensor \"w\" (bitmask)", "marks 7 stored elements", "holds 6 values", "one value per set bit"])
        try assertRejected(replacing(file, "w.__values", bytes: Array(file.tensors["w.__values"]!.bytes.dropLast(4))), path,
                           ["marks 6 stored elements", "holds 5 values"])
        try assertRejected(replacing(file, "w.__bitmask", bytes: Array(mask.dropLast())), path,
                           ["\"w.__bitmask\" is U8 [24]", "expected U8 [25]"])
        try assertRejected(replacing(file, "w.__bitmask", bytes: mask, dtype: .I8), path, ["\"w.__bitmask\" is I8", "expected U8 [25]"])
        try assertRejected(replacing(file, "w.__values", bytes: file.tensors["w.__values"]!.bytes + [0, 0, 0, 0, 0, 0, 0, 0], dtype: .F64), path,
                           ["\"w.__values\" is F64", "expected F32"])
        // 40 elements fill 5 bytes exactly; with 37 the last byte has 3 padding bits, which must stay clear.
        var xs = [Float](repeating: 0, count: 37)
        xs[36] = 1
        var (odd, _) = try SparseStateDict.encode(["v": f32(xs, [37])], metadata: [:], as: .bitmask, path: "unused")
        XCTAssertEqual(odd.tensors["v.__bitmask"]?.bytes.last, 0b0001_0000)
        odd = replacing(odd, "v.__bitmask", bytes: [0, 0, 0, 0, 0b0011_0000])
        try assertRejected(odd, path, ["tensor \"v\" (bitmask)", "padding bits", "expected 0"])
    }

    func testCSRCorruption() throws {
        let (file, path) = try export(.csr)
        // Rows: columns [0, 3, 9] | [2] | [5] | [9] → offsets [0, 3, 4, 5, 6].
        XCTAssertEqual(file.tensors["w.__row_offsets"]?.integers, [0, 3, 4, 5, 6])
        XCTAssertEqual(file.tensors["w.__col_indices"]?.integers, [0, 3, 9, 2, 5, 9])
        XCTAssertEqual(file.tensors["w.__col_indices"]?.dtype, .I16)
        XCTAssertEqual(file.tensors["w.__row_offsets"]?.dtype, .I32)
        func offsets(_ o: [Int64]) -> SafetensorsRawFile { replacing(file, "w.__row_offsets", integers: o) }
        func columns(_ c: [Int64]) -> SafetensorsRawFile { replacing(file, "w.__col_indices", integers: c) }

        try assertRejected(offsets([0, 3, 2, 5, 6]), path, ["tensor \"w\" (csr)", "not monotone", "row 1 ends at 2 before it starts at 3"])
        try assertRejected(offsets([1, 3, 4, 5, 6]), path, ["row_offsets[0] is 1; expected 0"])
        try assertRejected(offsets([0, 3, 4, 7, 7]), path, ["row_offsets[3] = 7 is out of range", "6 stored values"])
        try assertRejected(offsets([0, 3, 4, 5, 5]), path, ["row_offsets[4] is 5; expected 6"])
        try assertRejected(offsets([0, 3, 4, 6]), path, ["\"w.__row_offsets\" is I32 [4]", "expected I32 or I64 [5]"])
        try assertRejected(columns([0, 3, 50, 2, 5, 9]), path, ["tensor \"w\" (csr)", "col_indices[2] = 50 (row 0) is out of range", "< 50 columns"])
        try assertRejected(columns([0, 3, 9, -1, 5, 9]), path, ["col_indices[3] = -1 (row 1) is out of range"])
        try assertRejected(columns([0, 9, 3, 2, 5, 9]), path, ["row 0 are not strictly ascending", "9 then 3"])
        try assertRejected(columns([0, 3, 3, 2, 5, 9]), path, ["row 0 are not strictly ascending", "3 then 3"])
        try assertRejected(columns([0, 3, 9, 2, 5]), path, ["\"w.__col_indices\" is I16 [5]", "[6]"])
        try assertRejected(replacing(file, "w.__col_indices", bytes: file.tensors["w.__values"]!.bytes, dtype: .F32), path,
                           ["\"w.__col_indices\" is F32", "expected I16 or I32 or I64"])
        // Wider index types than needed are read too (another writer's choice).
        let wide = replacing(replacing(file, "w.__row_offsets", integers: [0, 3, 4, 5, 6], dtype: .I64),
                             "w.__col_indices", integers: [0, 3, 9, 2, 5, 9], dtype: .I64)
        XCTAssertEqual(try SparseStateDict.decode(wide, path: path).tensors["w"]?.float32Bits.filter { $0 != 0 }.count, 6)
    }

    func testExportRefusesNamesThatLookLikeParts() {
        assertIOError("out.safetensors", ["tensor \"a.__values\"", "cannot be exported"]) {
            _ = try SparseStateDict.encode(["a.__values": f32([1], [1])], metadata: [:], as: .dense, path: "out.safetensors")
        }
    }
}
