import Foundation
import ShearsTensor

/// The element types of the safetensors format that Shears reads and writes.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL

    /// Bytes per element on disk.
    public var byteCount: Int {
        switch self {
        case .F64, .I64: return 8
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }

    /// Whether the type holds integers (or booleans), so that only integer values can be written as it.
    public var isInteger: Bool {
        switch self {
        case .F32, .F64, .F16, .BF16: return false
        default: return true
        }
    }
}

/// A safetensors file (https://github.com/huggingface/safetensors, the format of `safetensors.torch.save_file`):
/// an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}`
/// padded with spaces to a multiple of 8, then the raw little-endian tensor data, offsets relative to its
/// start, every byte belonging to exactly one tensor.
///
/// Shears computes in float32, so reading converts every tensor to float32 and `dtypes` records what each was
/// on disk; writing converts back to the requested dtype (float32 unless told otherwise). Integers above 2^24
/// do not survive that conversion; `SafetensorsRawFile` reads and writes the same files without converting.
public struct SafetensorsFile {
    /// Every tensor, converted to float32, contiguous, with the shape it had on disk (`[]` for a scalar).
    public var tensors: [String: Tensor]
    /// The dtype each tensor had on disk.
    public var dtypes: [String: SafetensorsDType]
    /// The `__metadata__` string map (`{"format": "pt"}` for files written by `safetensors.torch`).
    public var metadata: [String: String]

    public init(tensors: [String: Tensor] = [:], dtypes: [String: SafetensorsDType] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.dtypes = dtypes
        self.metadata = metadata
    }

    /// Reads and validates a safetensors file; any malformation is an `IOError` naming the file and the tensor.
    public static func read(path: String) throws -> SafetensorsFile {
        try decode(try FileIO.read(path), path: path)
    }

    /// Writes `tensors` (in logical row-major order, whatever their memory format) atomically: to
    /// a temporary unique to this writer, then renamed over `path`. `dtypes` gives a tensor's on-disk type (default F32); an
    /// integer type (e.g. I64 for `num_batches_tracked`) requires integer values within its range.
    public static func write(path: String, tensors: [String: Tensor], dtypes: [String: SafetensorsDType] = [:],
                             metadata: [String: String] = [:]) throws {
        let data = try encode(tensors: tensors, dtypes: dtypes, metadata: metadata, path: path)
        try FileIO.writeAtomically(data, to: path)
    }

    /// Writes this file's tensors, dtypes and metadata to `path` (see `write(path:tensors:dtypes:metadata:)`).
    public func write(path: String) throws {
        try Self.write(path: path, tensors: tensors, dtypes: dtypes, metadata: metadata)
    }
}

// MARK: - encoding

extension SafetensorsFile {
    static let metadataKey = "__metadata__"

    /// The bytes of a safetensors file; `path` only names the file in errors.
    static func encode(tensors: [String: Tensor], dtypes: [String: SafetensorsDType], metadata: [String: String],
                       path: String) throws -> Data {
        if tensors[metadataKey] != nil {
            throw IOError(path: path, "\"\(metadataKey)\" is reserved for the metadata map and cannot name a tensor")
        }
        if let stray = dtypes.keys.sorted().first(where: { tensors[$0] == nil }) {
            throw IOError(path: path, "a dtype was given for \"\(stray)\", which is not among the tensors to write")
        }
        let names = tensors.keys.sorted()
        let contiguous = names.map { tensors[$0]!.contiguous() }
        let entries = zip(names, contiguous).map { name, t in
            SafetensorsLayout.Entry(name: name, dtype: dtypes[name] ?? .F32, shape: t.shape)
        }
        return try SafetensorsLayout.assemble(entries, metadata: metadata, path: path) { i, dst in
            try contiguous[i].withUnsafeBufferPointer { src in
                try Self.store(src, as: entries[i].dtype, to: dst, name: entries[i].name, path: path)
            }
        }
    }

    /// Writes float32 `src` as `dtype` (little-endian) at `dst`; a value the dtype cannot hold is an `IOError`.
    static func store(_ src: UnsafeBufferPointer<Float>, as dtype: SafetensorsDType, to dst: UnsafeMutableRawPointer,
                      name: String, path: String) throws {
        func checkedInteger(_ x: Float, _ lo: Float, _ hiExclusive: Float, _ i: Int) throws -> Float {
            guard x.isFinite, x == x.rounded(), x >= lo, x < hiExclusive else {
                throw IOError(path: path, "tensor \"\(name)\": element \(i) is \(x), which \(dtype.rawValue) cannot hold "
                              + "(an integer in [\(lo), \(hiExclusive)) expected)")
            }
            return x
        }
        switch dtype {
        case .F32:
            if UInt32(littleEndian: 1) == 1 {
                if !src.isEmpty { dst.copyMemory(from: src.baseAddress!, byteCount: 4 * src.count) }
            } else {
                for (i, x) in src.enumerated() { dst.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
        case .F64:
            for (i, x) in src.enumerated() { dst.storeBytes(of: Double(x).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        case .F16:
            for (i, x) in src.enumerated() { dst.storeBytes(of: Float16(x).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .BF16:
            for (i, x) in src.enumerated() { dst.storeBytes(of: bfloat16Bits(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .I64:
            for (i, x) in src.enumerated() {
                let v = Int64(try checkedInteger(x, -0x1p63, 0x1p63, i))
                dst.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: Int64.self)
            }
        case .I32:
            for (i, x) in src.enumerated() {
                let v = Int32(try checkedInteger(x, -0x1p31, 0x1p31, i))
                dst.storeBytes(of: v.littleEndian, toByteOffset: 4 * i, as: Int32.self)
            }
        case .I16:
            for (i, x) in src.enumerated() {
                let v = Int16(try checkedInteger(x, -32768, 32768, i))
                dst.storeBytes(of: v.littleEndian, toByteOffset: 2 * i, as: Int16.self)
            }
        case .I8:
            for (i, x) in src.enumerated() { dst.storeBytes(of: Int8(try checkedInteger(x, -128, 128, i)), toByteOffset: i, as: Int8.self) }
        case .U8:
            for (i, x) in src.enumerated() { dst.storeBytes(of: UInt8(try checkedInteger(x, 0, 256, i)), toByteOffset: i, as: UInt8.self) }
        case .BOOL:
            for (i, x) in src.enumerated() {
                guard x == 0 || x == 1 else {
                    throw IOError(path: path, "tensor \"\(name)\": element \(i) is \(x), which BOOL cannot hold (0 or 1 expected)")
                }
                dst.storeBytes(of: UInt8(x), toByteOffset: i, as: UInt8.self)
            }
        }
    }

    /// bfloat16 bits of `x`, rounded to nearest even (what PyTorch's `.to(torch.bfloat16)` does); NaN stays NaN.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        if x.isNaN { return UInt16(truncatingIfNeeded: x.bitPattern >> 16) | 0x0040 }
        let b = x.bitPattern
        return UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }
}

// MARK: - decoding

extension SafetensorsFile {
    /// Parses and validates the bytes of a safetensors file; `path` names the file in errors.
    static func decode(_ data: Data, path: String) throws -> SafetensorsFile {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> SafetensorsFile in
            let layout = try SafetensorsLayout.parse(raw, path: path)
            var file = SafetensorsFile(metadata: layout.metadata)
            for entry in layout.entries {
                file.tensors[entry.name] = load(raw.baseAddress! + layout.dataStart + entry.begin, entry.dtype, entry.shape)
                file.dtypes[entry.name] = entry.dtype
            }
            return file
        }
    }

    /// The float32 tensor of `shape` whose elements are stored as `dtype` at `src` (little-endian).
    static func load(_ src: UnsafeRawPointer, _ dtype: SafetensorsDType, _ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { dst in
            let n = dst.count
            switch dtype {
            case .F32:
                if UInt32(littleEndian: 1) == 1 {
                    if n > 0 { UnsafeMutableRawPointer(dst.baseAddress!).copyMemory(from: src, byteCount: 4 * n) }
                } else {
                    for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                }
            case .F64:
                for i in 0..<n { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .F16:
                for i in 0..<n { dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .BF16:
                for i in 0..<n { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            case .I64:
                for i in 0..<n { dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .I32:
                for i in 0..<n { dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case .I16:
                for i in 0..<n { dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case .I8:
                for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
            case .U8:
                for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
            case .BOOL:
                for i in 0..<n { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
            }
        }
        return t
    }
}

// MARK: - the container: header and data layout, shared by the float32 and the raw readers and writers

/// The layout of a safetensors file, independent of how the tensors are held in memory: `SafetensorsFile`
/// (float32) and `SafetensorsRawFile` (bytes as stored) both write through `assemble` and read through `parse`,
/// so the two APIs validate files identically.
enum SafetensorsLayout {
    /// One tensor's header entry; `begin`/`end` are offsets into the data section.
    struct Entry {
        var name: String
        var dtype: SafetensorsDType
        var shape: [Int]
        var begin = 0
        var end = 0

        init(name: String, dtype: SafetensorsDType, shape: [Int], begin: Int = 0, end: Int = 0) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.begin = begin
            self.end = end
        }

        var count: Int { shape.reduce(1, *) }
        var byteCount: Int { count * dtype.byteCount }
    }

    /// The header bytes (padded with spaces to a multiple of 8) for `entries` laid out in the given order, and
    /// the entries with their offsets filled in.
    static func header(_ entries: [Entry], metadata: [String: String]) -> (bytes: [UInt8], entries: [Entry], dataSize: Int) {
        var fields: [String] = []
        if !metadata.isEmpty {
            let kv = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            fields.append("\(jsonQuoted(SafetensorsFile.metadataKey)):{\(kv.joined(separator: ","))}")
        }
        var placed: [Entry] = []
        var offset = 0
        for var e in entries {
            e.begin = offset
            e.end = offset + e.byteCount
            offset = e.end
            let shape = e.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonQuoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(e.begin),\(e.end)]}")
            placed.append(e)
        }
        var bytes = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        return (bytes, placed, offset)
    }

    /// The size in bytes of the file `assemble` would write for `entries` and `metadata`.
    static func fileSize(_ entries: [Entry], metadata: [String: String]) -> Int {
        let h = header(entries, metadata: metadata)
        return 8 + h.bytes.count + h.dataSize
    }

    /// The bytes of a safetensors file holding `entries` in the given order; `fill(i, dst)` writes entry i's
    /// `byteCount` little-endian bytes at `dst`. `path` only names the file in errors.
    static func assemble(_ entries: [Entry], metadata: [String: String], path: String,
                         fill: (Int, UnsafeMutableRawPointer) throws -> Void) throws -> Data {
        var seen = Set<String>()
        for e in entries {
            if e.name == SafetensorsFile.metadataKey {
                throw IOError(path: path, "\"\(SafetensorsFile.metadataKey)\" is reserved for the metadata map and cannot name a tensor")
            }
            if !seen.insert(e.name).inserted { throw IOError(path: path, "tensor \"\(e.name)\" is listed twice") }
        }
        let h = header(entries, metadata: metadata)
        var data = Data(count: 8 + h.bytes.count + h.dataSize)
        try data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            let base = raw.baseAddress!
            base.storeBytes(of: UInt64(h.bytes.count).littleEndian, as: UInt64.self)
            h.bytes.withUnsafeBytes { (base + 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let dataStart = base + 8 + h.bytes.count
            for (i, e) in h.entries.enumerated() where e.byteCount > 0 { try fill(i, dataStart + e.begin) }
        }
        return data
    }

    /// Parses and validates the header of the file bytes `raw`: the header length, UTF-8 JSON, every entry's
    /// dtype, shape and offsets, and that every byte of the data section belongs to exactly one tensor.
    /// `path` names the file in errors.
    static func parse(_ raw: UnsafeRawBufferPointer, path: String) throws -> (metadata: [String: String], entries: [Entry], dataStart: Int) {
        func fail(_ m: String) -> IOError { IOError(path: path, m) }
        guard raw.count >= 8 else {
            throw fail("file is \(raw.count) bytes long; a safetensors file starts with an 8-byte header length")
        }
        let base = raw.baseAddress!
        let n = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(raw.count - 8) else {
            throw fail("header length \(n) (the first 8 bytes) exceeds the \(raw.count - 8) bytes that follow: "
                       + "the file is truncated or not a safetensors file")
        }
        let headerLength = Int(n)
        let headerBytes = Array(raw[8..<(8 + headerLength)])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
        let root: JSONValue
        do { root = try JSONParser.parse(headerBytes) } catch let e as JSONParseError {
            throw fail("header is not valid JSON: \(e.message) at byte \(e.offset) of the header")
        }
        guard case .object(let members) = root else {
            throw fail("header must be a JSON object {\"name\": {\"dtype\": …}, …}, found \(root.kind)")
        }

        let dataStart = 8 + headerLength
        let dataSize = raw.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        let metadataKey = SafetensorsFile.metadataKey

        for (name, value) in members {
            if name == metadataKey {
                guard case .object(let kv) = value else { throw fail("\"\(metadataKey)\" must be an object of strings, found \(value.kind)") }
                for (k, v) in kv {
                    guard case .string(let s) = v else { throw fail("\"\(metadataKey)\": value of \"\(k)\" must be a string, found \(v.kind)") }
                    metadata[k] = s
                }
                continue
            }
            let what = "tensor \"\(name)\""
            guard case .object(let info) = value else { throw fail("\(what): expected an object with dtype, shape and data_offsets, found \(value.kind)") }
            func field(_ key: String) throws -> JSONValue {
                guard let v = info.first(where: { $0.key == key })?.value else { throw fail("\(what): missing \"\(key)\"") }
                return v
            }
            guard case .string(let dtypeName) = try field("dtype") else { throw fail("\(what): \"dtype\" must be a string") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw fail("\(what): unknown dtype \"\(dtypeName)\" (expected one of \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard case .array(let dims) = try field("shape") else { throw fail("\(what): \"shape\" must be an array of non-negative integers") }
            var shape: [Int] = []
            var count = 1, countOverflow = false
            for d in dims {
                guard let u = d.nonNegativeInteger, u <= UInt64(Int.max) else {
                    throw fail("\(what): \"shape\" must be an array of non-negative integers, found \(d.kind)")
                }
                shape.append(Int(u))
                let (p, o) = count.multipliedReportingOverflow(by: Int(u))
                count = p
                countOverflow = countOverflow || o
            }
            guard case .array(let offs) = try field("data_offsets"), offs.count == 2,
                  let b = offs[0].nonNegativeInteger, let e = offs[1].nonNegativeInteger else {
                throw fail("\(what): \"data_offsets\" must be [begin, end] with non-negative integers")
            }
            guard b <= e else { throw fail("\(what): data_offsets [\(b), \(e)] end before they begin") }
            guard e <= UInt64(dataSize) else {
                throw fail("\(what): data_offsets [\(b), \(e)] are out of range: the data section holds \(dataSize) bytes")
            }
            let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteCount)
            guard !countOverflow, !o, UInt64(bytes) == e - b else {
                throw fail("\(what): data_offsets [\(b), \(e)] hold \(e - b) bytes, but \(dtype.rawValue) \(shape) needs "
                           + (countOverflow || o ? "more than the file can hold" : "\(bytes)"))
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: Int(b), end: Int(e)))
        }

        // Every byte of the data section belongs to exactly one tensor.
        let spans = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: Entry?
        for s in spans {
            if s.begin < covered, let p = previous {
                throw fail("tensors \"\(p.name)\" (data_offsets [\(p.begin), \(p.end)]) and \"\(s.name)\" ([\(s.begin), \(s.end)]) overlap")
            }
            if s.begin > covered {
                let after = previous.map { " (after \"\($0.name)\")" } ?? ""
                throw fail("bytes [\(covered), \(s.begin)) of the data section belong to no tensor\(after): "
                           + "expected \"\(s.name)\" to start at \(covered)")
            }
            covered = s.end
            if s.end > s.begin || previous == nil { previous = s }
        }
        if covered != dataSize {
            throw fail("the data section holds \(dataSize) bytes but the tensors cover only \(covered) "
                       + "(bytes [\(covered), \(dataSize)) belong to no tensor: extra bytes or a corrupt header)")
        }
        return (metadata, entries, dataStart)
    }
}
