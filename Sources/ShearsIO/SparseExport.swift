import Foundation
import ShearsTensor

/// How a state dict file stores its tensors. A pruned network written densely is as large as the unpruned one
/// (the zeros are still stored: the "pruned model file is not smaller" complaint of every toolkit's users), so
/// `shears export` can drop them: `bitmask` keeps one bit per element plus the nonzero values, `csr` keeps the
/// nonzero values with their column indices and per-row offsets.
public enum StateDictFormat: String, CaseIterable, Codable, Sendable {
    /// Plain safetensors, every element stored (what `safetensors.torch.load_file` + `load_state_dict` load).
    case dense
    /// Values of the nonzero elements + one bit per element.
    case bitmask
    /// Compressed sparse rows: values, column indices, row offsets.
    case csr
    /// The `compressed-tensors` package's sparse-bitmask layout (`CompressedTensors`), which vLLM and Hugging
    /// Face load: `M.compressed`, `M.bitmask`, `M.shape`, `M.row_offsets` per weight, `sparsity_config` metadata.
    case compressedTensors = "compressed-tensors"
}

/// The sparse encodings of a state dict in ONE safetensors file, version 1. The file describes itself:
///
/// - `__metadata__` holds `shears.format` = `dense` | `bitmask` | `csr` and `shears.version` = `1`, plus, for
///   every encoded tensor `<name>`, `shears.encoding.<name>` (= the file's format) and `shears.shape.<name>`
///   (its shape, decimal dimensions joined by commas, e.g. `300,784`). Other metadata (`format: pt`,
///   `shears.mean` / `shears.std`) is kept.
/// - A tensor without a `shears.encoding.<name>` key is stored dense under its own name, with its own dtype:
///   biases, batch-norm entries, `num_batches_tracked` (I64), anything not F32, and any F32 tensor whose encoding
///   would take more bytes than the dense entry (decided per tensor, counting the header entries it adds).
/// - **bitmask**, for a tensor of n elements: `<name>.__bitmask` U8 [⌈n/8⌉], bit i of the row-major element
///   order at byte i / 8, bit i % 8 counted from the least significant bit (numpy's `packbits(bitorder="little")`),
///   unused high bits of the last byte 0; and `<name>.__values` F32 [nnz], the elements whose bit is set, in
///   row-major order.
/// - **csr**: rows = dimension 0 and cols = the product of the others (a 1-D tensor is one row of n columns).
///   `<name>.__values` F32 [nnz] row by row, columns ascending; `<name>.__col_indices` [nnz] as I16 when
///   cols ≤ 32768, I32 when cols ≤ 2^31, else I64; `<name>.__row_offsets` [rows + 1] (I32 when nnz < 2^31, else
///   I64): row r holds entries offsets[r] ..< offsets[r + 1], offsets[0] = 0, offsets[rows] = nnz.
///
/// **Which elements are zero.** Only +0.0 (all 32 bits clear) is dropped. -0.0 is stored as a value like any
/// other nonzero bit pattern, so a round trip is bit-identical for every float (NaN payloads, ±inf and the sign
/// of zero included). Shears writes pruned weights as +0.0 (`Mask.apply`, gRDA's soft threshold); a checkpoint
/// pruned elsewhere by multiplying with a mask may hold -0.0 where negative weights were pruned, and those cost
/// a stored value each.
///
/// Names must not contain `.__` (the separator of the encoded parts); PyTorch state_dict names never do.
public enum SparseStateDict {
    public static let formatKey = "shears.format"
    /// `shears.*` keys that describe the model rather than the encoding (its compacted widths, its N:M pattern):
    /// kept through every format, read by `modelWidths(in:)` and the N:M export.
    public static let modelKeys: Set<String> = ["shears.widths", "shears.nm_pattern"]
    /// Whether `key` belongs to the encoding (dropped and rewritten on re-encoding).
    static func isFormatKey(_ key: String) -> Bool { key.hasPrefix("shears.") && !modelKeys.contains(key) }
    public static let versionKey = "shears.version"
    /// The version this code writes and the only one it reads.
    public static let version = "1"
    public static let encodingKeyPrefix = "shears.encoding."
    public static let shapeKeyPrefix = "shears.shape."
    /// Whether `key` is one of the metadata keys this layout owns (the format, version, encodings and shapes);
    /// other `shears.*` keys (the input normalisation `shears.mean` / `shears.std`) travel with the tensors.
    public static func isLayoutKey(_ key: String) -> Bool {
        key == formatKey || key == versionKey || key.hasPrefix(encodingKeyPrefix) || key.hasPrefix(shapeKeyPrefix)
    }

    /// Separates a tensor's name from its encoded part: `fc1.weight.__values`.
    public static let partSeparator = ".__"

    /// What the exporter decided for one tensor, and why (the byte counts it compared).
    public struct Decision: Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        public let dtype: SafetensorsDType
        /// How the tensor is stored: `.dense`, or the file's format.
        public let encoding: StateDictFormat
        /// Elements that are exactly +0.0 (0 for non-F32 tensors, which are never encoded).
        public let zeros: Int
        /// Bytes of the dense entry (data plus its header entry).
        public let denseBytes: Int
        /// Bytes of the encoded entries (data plus header entries and metadata keys); `denseBytes` when the
        /// tensor cannot be encoded (not F32, a scalar, empty, or the file format is dense).
        public let encodedBytes: Int

        public var count: Int { shape.reduce(1, *) }
    }

    /// A state dict read back from any of the three formats: the plain tensors as they were exported.
    public struct Decoded: Equatable, Sendable {
        /// The format found: `shears.format`, or `.dense` for a file without it (PyTorch, `saveStateDict`).
        public var format: StateDictFormat
        /// Whether the file carried `shears.format` (false: a plain safetensors file).
        public var declared: Bool
        /// name → the dense tensor, bytes exactly as before export.
        public var tensors: [String: RawTensor]
        /// The metadata without the `shears.*` keys of the encoding.
        public var metadata: [String: String]
        /// The tensors that were stored encoded, and how.
        public var encodings: [String: StateDictFormat]

        /// The float32 view (`SafetensorsFile.read` of the dense file): what `loadStateDict` consumes.
        public var floatFile: SafetensorsFile {
            SafetensorsFile(tensors: tensors.mapValues(\.tensor), dtypes: tensors.mapValues(\.dtype), metadata: metadata)
        }
    }

    // MARK: encoding

    /// Encodes a state dict (name → tensor as stored) in `format`; tensors whose encoding would be larger stay
    /// dense (see the type's documentation). `metadata` is kept, except `shears.*` keys, which the format owns.
    /// Returns the file and one decision per tensor, in name order. `path` names the output in errors.
    public static func encode(_ tensors: [String: RawTensor], metadata: [String: String], as format: StateDictFormat,
                              path: String) throws -> (file: SafetensorsRawFile, decisions: [Decision]) {
        if format == .compressedTensors { return try CompressedTensors.encode(tensors, metadata: metadata, path: path) }
        if let bad = tensors.keys.sorted().first(where: { $0.contains(partSeparator) }) {
            throw IOError(path: path, "tensor \"\(bad)\": names containing \"\(partSeparator)\" cannot be exported "
                          + "(the separator of encoded parts such as \"<name>\(partSeparator)values\")")
        }
        var meta = metadata.filter { !isLayoutKey($0.key) }
        meta[formatKey] = format.rawValue
        meta[versionKey] = version
        var out = SafetensorsRawFile(metadata: meta)
        var decisions: [Decision] = []
        // Offsets in the header take about as many digits as the dense data section's size.
        let digits = String(tensors.values.reduce(0) { $0 + $1.bytes.count }).count

        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let dense = t.bytes.count + headerBytes(name, t.dtype, t.shape, digits)
            guard format != .dense, t.dtype == .F32, !t.shape.isEmpty, t.count > 0 else {
                out.tensors[name] = t
                decisions.append(Decision(name: name, shape: t.shape, dtype: t.dtype, encoding: .dense,
                                          zeros: t.dtype == .F32 ? positiveZeros(t) : 0, denseBytes: dense, encodedBytes: dense))
                continue
            }
            let zeros = positiveZeros(t)
            let parts = format == .bitmask ? bitmaskParts(t, nnz: t.count - zeros) : csrParts(t, nnz: t.count - zeros)
            let keys = [(encodingKeyPrefix + name, format.rawValue), (shapeKeyPrefix + name, shapeText(t.shape))]
            let encoded = parts.reduce(0) { $0 + $1.1.bytes.count + headerBytes(name + partSeparator + $1.0, $1.1.dtype, $1.1.shape, digits) }
                + keys.reduce(0) { $0 + jsonQuoted($1.0).utf8.count + jsonQuoted($1.1).utf8.count + 2 }
            if encoded < dense {
                for (part, tensor) in parts { out.tensors[name + partSeparator + part] = tensor }
                for (k, v) in keys { out.metadata[k] = v }
            } else {
                out.tensors[name] = t
            }
            decisions.append(Decision(name: name, shape: t.shape, dtype: t.dtype, encoding: encoded < dense ? format : .dense,
                                      zeros: zeros, denseBytes: dense, encodedBytes: encoded))
        }
        return (out, decisions)
    }

    /// The bytes a tensor's header entry takes (`"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]},`), with
    /// offsets of `digits` digits.
    static func headerBytes(_ name: String, _ dtype: SafetensorsDType, _ shape: [Int], _ digits: Int) -> Int {
        jsonQuoted(name).utf8.count + "{\"dtype\":\"\",\"shape\":[],\"data_offsets\":[,]},".utf8.count
            + dtype.rawValue.utf8.count + shapeText(shape).utf8.count + 2 * digits
    }

    static func shapeText(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: ",") }

    /// Elements of an F32 tensor whose bits are all clear (+0.0): the ones an encoding drops.
    static func positiveZeros(_ t: RawTensor) -> Int {
        t.bytes.withUnsafeBytes { src in
            var z = 0
            for i in 0..<t.count where src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) == 0 { z += 1 }
            return z
        }
    }

    /// `__bitmask` and `__values` of an F32 tensor with `nnz` elements other than +0.0.
    static func bitmaskParts(_ t: RawTensor, nnz: Int) -> [(String, RawTensor)] {
        let n = t.count
        var mask = [UInt8](repeating: 0, count: (n + 7) / 8)
        var values = [UInt8](repeating: 0, count: 4 * nnz)
        t.bytes.withUnsafeBytes { src in
            values.withUnsafeMutableBytes { dst in
                var k = 0
                for i in 0..<n {
                    let bits = src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    if bits != 0 {
                        mask[i >> 3] |= 1 << UInt8(i & 7)
                        dst.storeBytes(of: bits, toByteOffset: 4 * k, as: UInt32.self)
                        k += 1
                    }
                }
            }
        }
        return [("bitmask", RawTensor(dtype: .U8, shape: [mask.count], bytes: mask)),
                ("values", RawTensor(dtype: .F32, shape: [nnz], bytes: values))]
    }

    /// Rows and columns of the CSR view of `shape`: dimension 0 × the rest; a 1-D tensor is one row.
    static func csrGrid(_ shape: [Int]) -> (rows: Int, cols: Int) {
        shape.count == 1 ? (1, shape[0]) : (shape[0], shape.dropFirst().reduce(1, *))
    }

    /// The column-index dtype for `cols` columns and the row-offset dtype for `nnz` stored values.
    static func csrDTypes(cols: Int, nnz: Int) -> (index: SafetensorsDType, offset: SafetensorsDType) {
        let index: SafetensorsDType = cols <= 1 << 15 ? .I16 : (cols <= 1 << 31 ? .I32 : .I64)
        return (index, nnz < 1 << 31 ? .I32 : .I64)
    }

    /// `__values`, `__col_indices` and `__row_offsets` of an F32 tensor with `nnz` elements other than +0.0.
    static func csrParts(_ t: RawTensor, nnz: Int) -> [(String, RawTensor)] {
        let (rows, cols) = csrGrid(t.shape)
        let types = csrDTypes(cols: cols, nnz: nnz)
        var values = [UInt8](repeating: 0, count: 4 * nnz)
        var indices = [Int64](repeating: 0, count: nnz)
        var offsets = [Int64](repeating: 0, count: rows + 1)
        t.bytes.withUnsafeBytes { src in
            values.withUnsafeMutableBytes { dst in
                var k = 0
                for r in 0..<rows {
                    for c in 0..<cols {
                        let bits = src.loadUnaligned(fromByteOffset: 4 * (r * cols + c), as: UInt32.self)
                        if bits != 0 {
                            dst.storeBytes(of: bits, toByteOffset: 4 * k, as: UInt32.self)
                            indices[k] = Int64(c)
                            k += 1
                        }
                    }
                    offsets[r + 1] = Int64(k)
                }
            }
        }
        return [("col_indices", RawTensor(integers: indices, dtype: types.index, shape: [nnz])),
                ("row_offsets", RawTensor(integers: offsets, dtype: types.offset, shape: [rows + 1])),
                ("values", RawTensor(dtype: .F32, shape: [nnz], bytes: values))]
    }

    // MARK: decoding

    /// The plain state dict stored in `file`, whatever its format. Everything that does not describe a valid
    /// version-1 encoding is an `IOError` naming `path`, the tensor and what was expected: an unknown
    /// `shears.format` or version, encoded parts without their metadata (or the reverse), a bitmask whose set
    /// bits do not match the value count, CSR offsets that are not monotone or out of range, column indices
    /// outside the row or not ascending, parts with the wrong dtype or shape.
    public static func decode(_ file: SafetensorsRawFile, path: String) throws -> Decoded {
        func fail(_ m: String) -> IOError { IOError(path: path, m) }
        if file.metadata[formatKey] == StateDictFormat.compressedTensors.rawValue
            || (file.metadata[formatKey] == nil && CompressedTensors.detect(file)) {
            return try decodeCompressedTensors(file, path: path)
        }
        guard let declared = file.metadata[formatKey] else {
            if let stray = file.metadata.keys.sorted().first(where: isLayoutKey) {
                throw fail("metadata has \"\(stray)\" but no \"\(formatKey)\"; expected \(formatKey) = "
                           + "\(StateDictFormat.allCases.map(\.rawValue).joined(separator: ", ")) alongside it")
            }
            return Decoded(format: .dense, declared: false, tensors: file.tensors, metadata: file.metadata, encodings: [:])
        }
        guard let format = StateDictFormat(rawValue: declared) else {
            throw fail("unknown \(formatKey) \"\(declared)\"; expected one of "
                       + "\(StateDictFormat.allCases.map(\.rawValue).joined(separator: ", ")) (written by a newer Shears?)")
        }
        guard let v = file.metadata[versionKey], v == version else {
            throw fail("\(versionKey) is \(file.metadata[versionKey].map { "\"\($0)\"" } ?? "missing"); "
                       + "this Shears reads version \(version) of the \(formatKey) layout")
        }

        var encodings: [String: StateDictFormat] = [:]
        var shapes: [String: [Int]] = [:]
        for (key, value) in file.metadata where key.hasPrefix(encodingKeyPrefix) {
            let name = String(key.dropFirst(encodingKeyPrefix.count))
            guard let enc = StateDictFormat(rawValue: value), enc != .dense else {
                throw fail("tensor \"\(name)\": unknown encoding \"\(value)\" in \(key); expected bitmask or csr")
            }
            guard enc == format else {
                throw fail("tensor \"\(name)\" is encoded as \(enc.rawValue) but the file's \(formatKey) is \(format.rawValue)")
            }
            guard let text = file.metadata[shapeKeyPrefix + name] else {
                throw fail("tensor \"\(name)\" (\(enc.rawValue)): metadata lacks \(shapeKeyPrefix)\(name), its original shape")
            }
            guard let shape = parseShape(text) else {
                throw fail("tensor \"\(name)\" (\(enc.rawValue)): \(shapeKeyPrefix)\(name) is \"\(text)\"; "
                           + "expected non-negative dimensions joined by commas, e.g. \"300,784\"")
            }
            encodings[name] = enc
            shapes[name] = shape
        }
        if let stray = file.metadata.keys.sorted().first(where: {
            $0.hasPrefix(shapeKeyPrefix) && encodings[String($0.dropFirst(shapeKeyPrefix.count))] == nil
        }) {
            throw fail("metadata has \"\(stray)\" but no \(encodingKeyPrefix)\(stray.dropFirst(shapeKeyPrefix.count))")
        }

        var plain: [String: RawTensor] = [:]
        var parts: [String: [String: RawTensor]] = [:]
        for (entry, t) in file.tensors {
            if let r = entry.range(of: partSeparator, options: .backwards) {
                let name = String(entry[..<r.lowerBound]), part = String(entry[r.upperBound...])
                guard encodings[name] != nil else {
                    throw fail("tensor \"\(entry)\" looks like a part of an encoded tensor \"\(name)\", but the metadata "
                               + "has no \(encodingKeyPrefix)\(name)")
                }
                parts[name, default: [:]][part] = t
            } else {
                plain[entry] = t
            }
        }
        for name in encodings.keys.sorted() {
            let enc = encodings[name]!
            if plain[name] != nil {
                throw fail("tensor \"\(name)\" is stored both dense and as \(enc.rawValue); expected one of the two")
            }
            let context = DecodeContext(path: path, name: name, encoding: enc, shape: shapes[name]!, parts: parts[name] ?? [:])
            plain[name] = enc == .bitmask ? try context.bitmask() : try context.csr()
        }
        return Decoded(format: format, declared: true, tensors: plain,
                       metadata: file.metadata.filter { !isLayoutKey($0.key) }, encodings: encodings)
    }

    /// A compressed-tensors file (written by Shears or by the package) as its dense tensors.
    static func decodeCompressedTensors(_ file: SafetensorsRawFile, path: String) throws -> Decoded {
        let tensors = try CompressedTensors.decode(file, path: path)
        var encodings: [String: StateDictFormat] = [:]
        for k in file.tensors.keys where k.hasSuffix(".compressed") {
            encodings[String(k.dropLast(".compressed".count)) + ".weight"] = .compressedTensors
        }
        let meta = file.metadata.filter { !isLayoutKey($0.key) && $0.key != CompressedTensors.configKey }
        return Decoded(format: .compressedTensors, declared: file.metadata[formatKey] != nil, tensors: tensors,
                       metadata: meta, encodings: encodings)
    }

    static func parseShape(_ text: String) -> [Int]? {
        if text.isEmpty { return [] }
        var shape: [Int] = []
        for piece in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let d = Int(piece), d >= 0 else { return nil }
            shape.append(d)
        }
        return shape
    }

    /// One encoded tensor being decoded: its name, shape and parts, and the messages naming them.
    struct DecodeContext {
        let path: String
        let name: String
        let encoding: StateDictFormat
        let shape: [Int]
        let parts: [String: RawTensor]

        func fail(_ m: String) -> IOError { IOError(path: path, "tensor \"\(name)\" (\(encoding.rawValue)): \(m)") }

        var count: Int { shape.reduce(1, *) }

        /// The part `name.__<part>`, which must exist and have one of `dtypes` and rank 1 (`length` elements if given).
        func part(_ part: String, _ dtypes: [SafetensorsDType], length: Int? = nil, what: String) throws -> RawTensor {
            let entry = "\"\(name)\(SparseStateDict.partSeparator)\(part)\""
            guard let t = parts[part] else { throw fail("missing \(entry) (\(what))") }
            let expected = "\(dtypes.map(\.rawValue).joined(separator: " or ")) [\(length.map(String.init) ?? "n")]"
            guard dtypes.contains(t.dtype), t.shape.count == 1, length.map({ $0 == t.shape[0] }) ?? true else {
                throw fail("\(entry) is \(t.dtype.rawValue) \(t.shape); expected \(expected) (\(what))")
            }
            return t
        }

        func checkNoOtherParts(_ known: Set<String>) throws {
            if let extra = parts.keys.sorted().first(where: { !known.contains($0) }) {
                throw fail("unexpected entry \"\(name)\(SparseStateDict.partSeparator)\(extra)\"; a \(encoding.rawValue) tensor has "
                           + known.sorted().map { "\(SparseStateDict.partSeparator)\($0)" }.joined(separator: ", "))
            }
        }

        func bitmask() throws -> RawTensor {
            try checkNoOtherParts(["bitmask", "values"])
            let n = count
            let mask = try part("bitmask", [.U8], length: (n + 7) / 8, what: "one bit per element of \(shape)")
            let values = try part("values", [.F32], what: "the values of the set bits")
            var out = [UInt8](repeating: 0, count: 4 * n)
            try mask.bytes.withUnsafeBytes { m in
                if n % 8 != 0, m[m.count - 1] >> UInt8(n % 8) != 0 {
                    throw fail("padding bits of the last bitmask byte (elements \(n)… of \(n)) are set; expected 0")
                }
                let set = m.reduce(0) { $0 + $1.nonzeroBitCount }
                guard set == values.count else {
                    throw fail("the bitmask marks \(set) stored elements but \"\(name)\(SparseStateDict.partSeparator)values\" "
                               + "holds \(values.count) values; expected one value per set bit")
                }
                values.bytes.withUnsafeBytes { v in
                    out.withUnsafeMutableBytes { dst in
                        var k = 0
                        for i in 0..<n where m[i >> 3] & (1 << UInt8(i & 7)) != 0 {
                            dst.storeBytes(of: v.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self), toByteOffset: 4 * i, as: UInt32.self)
                            k += 1
                        }
                    }
                }
            }
            return RawTensor(dtype: .F32, shape: shape, bytes: out)
        }

        func csr() throws -> RawTensor {
            try checkNoOtherParts(["values", "col_indices", "row_offsets"])
            guard !shape.isEmpty else { throw fail("a scalar cannot be stored as CSR; expected a shape with at least one dimension") }
            let (rows, cols) = SparseStateDict.csrGrid(shape)
            let values = try part("values", [.F32], what: "the stored values, row by row")
            let nnz = values.count
            let indices = try part("col_indices", [.I16, .I32, .I64], length: nnz, what: "one column per stored value")
            let offsets = try part("row_offsets", [.I32, .I64], length: rows + 1,
                                   what: "where each of the \(rows) rows starts, then the value count")
            var out = [UInt8](repeating: 0, count: 4 * count)
            try offsets.bytes.withUnsafeBytes { o in
                try indices.bytes.withUnsafeBytes { ix in
                    try values.bytes.withUnsafeBytes { v in
                        try out.withUnsafeMutableBytes { dst in
                            let first = RawTensor.integer(o, offsets.dtype, 0)
                            guard first == 0 else { throw fail("row_offsets[0] is \(first); expected 0") }
                            var start = 0
                            for r in 0..<rows {
                                let end64 = RawTensor.integer(o, offsets.dtype, r + 1)
                                guard end64 >= Int64(start) else {
                                    throw fail("row_offsets are not monotone: row \(r) ends at \(end64) before it starts at \(start)")
                                }
                                guard end64 <= Int64(nnz) else {
                                    throw fail("row_offsets[\(r + 1)] = \(end64) is out of range: there are \(nnz) stored values")
                                }
                                let end = Int(end64)
                                var previous: Int64 = -1
                                for k in start..<end {
                                    let c = RawTensor.integer(ix, indices.dtype, k)
                                    guard c >= 0, c < Int64(cols) else {
                                        throw fail("col_indices[\(k)] = \(c) (row \(r)) is out of range; expected 0 ≤ index < \(cols) columns")
                                    }
                                    guard c > previous else {
                                        throw fail("col_indices of row \(r) are not strictly ascending: \(previous) then \(c) at position \(k)")
                                    }
                                    previous = c
                                    dst.storeBytes(of: v.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self),
                                                   toByteOffset: 4 * (r * cols + Int(c)), as: UInt32.self)
                                }
                                start = end
                            }
                            guard start == nnz else {
                                throw fail("row_offsets[\(rows)] is \(start); expected \(nnz), the number of stored values")
                            }
                        }
                    }
                }
            }
            return RawTensor(dtype: .F32, shape: shape, bytes: out)
        }
    }
}

// MARK: - reading a state dict file in any format

/// What was found in a state dict file: its format and how its size compares with the dense file.
public struct StateDictFileInfo: Equatable, Sendable {
    public let path: String
    public let format: StateDictFormat
    /// Whether the file carried `shears.format` (false: a plain safetensors state dict).
    public let declared: Bool
    /// The tensors of the decoded state dict.
    public let tensorCount: Int
    /// Tensors stored encoded (bitmask or CSR) rather than dense.
    public let encodedCount: Int
    /// The file's size in bytes.
    public let fileBytes: Int
    /// The size of the same state dict exported dense (the file itself when it is dense).
    public let denseBytes: Int
    /// Elements of the F32 tensors, and how many of them are zero (+0.0 or -0.0).
    public let floatElements: Int
    public let zeroElements: Int

    /// Zero F32 elements over all F32 elements (0 when there are none).
    public var sparsity: Double { floatElements == 0 ? 0 : Double(zeroElements) / Double(floatElements) }
    /// The file's size as a fraction of the dense size.
    public var sizeRatio: Double { denseBytes == 0 ? 1 : Double(fileBytes) / Double(denseBytes) }
    /// `PATH (bitmask, 12.3% of dense size)`: what loaders print after "loaded".
    public var summary: String {
        "\(path) (\(format.rawValue), " + String(format: "%.1f%% of dense size", 100 * sizeRatio) + ")"
    }
}

extension SparseStateDict {
    /// Reads a state dict file in any of the three formats (or plain safetensors) and decodes it exactly.
    public static func read(path: String) throws -> (decoded: Decoded, info: StateDictFileInfo) {
        let data = try FileIO.read(path)
        let raw = try SafetensorsRawFile.decode(data, path: path)
        let decoded = try decode(raw, path: path)
        var denseBytes = data.count
        if decoded.format != .dense {
            var meta = decoded.metadata
            meta[formatKey] = StateDictFormat.dense.rawValue
            meta[versionKey] = version
            denseBytes = SafetensorsRawFile(tensors: decoded.tensors, metadata: meta).encodedSize
        }
        var floats = 0, zeros = 0
        for t in decoded.tensors.values where t.dtype == .F32 {
            floats += t.count
            t.bytes.withUnsafeBytes { src in
                for i in 0..<t.count where src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7FFF_FFFF == 0 { zeros += 1 }
            }
        }
        let info = StateDictFileInfo(path: path, format: decoded.format, declared: decoded.declared,
                                     tensorCount: decoded.tensors.count, encodedCount: decoded.encodings.count,
                                     fileBytes: data.count, denseBytes: denseBytes, floatElements: floats, zeroElements: zeros)
        return (decoded, info)
    }

    /// Writes `tensors` (+ `metadata`) to `path` in `format`, atomically; returns the per-tensor decisions.
    @discardableResult
    public static func write(_ tensors: [String: RawTensor], metadata: [String: String], as format: StateDictFormat,
                             to path: String) throws -> [Decision] {
        let (file, decisions) = try encode(tensors, metadata: metadata, as: format, path: path)
        try file.write(path: path)
        return decisions
    }
}
