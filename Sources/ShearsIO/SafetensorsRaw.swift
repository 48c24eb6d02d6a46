import Foundation
import ShearsTensor

/// One tensor exactly as a safetensors file stores it: its dtype, its shape and its little-endian bytes.
///
/// `SafetensorsFile` converts every tensor to float32, which is what training wants but loses integers above
/// 2^24 (16,777,217 reads back as 16,777,216). Sparse exports store indices and row offsets that easily exceed
/// that, and bitmasks whose bytes must survive untouched, so they go through this type: nothing is converted
/// on the way in or out, and a round trip is byte-identical for every dtype.
public struct RawTensor: Equatable, Sendable {
    public let dtype: SafetensorsDType
    /// The logical shape, `[]` for a scalar.
    public let shape: [Int]
    /// `count × dtype.byteCount` little-endian bytes in row-major order.
    public let bytes: [UInt8]

    /// A tensor from its stored bytes; `bytes.count` must be the element count times the dtype's size.
    public init(dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "RawTensor: negative dimension in \(shape)")
        precondition(bytes.count == shape.reduce(1, *) * dtype.byteCount,
                     "RawTensor: \(dtype.rawValue) \(shape) needs \(shape.reduce(1, *) * dtype.byteCount) bytes, got \(bytes.count)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// An F32 tensor holding exactly these float bit patterns (NaN payloads and -0.0 included).
    public init(float32 values: [Float], shape: [Int]) {
        var bytes = [UInt8](repeating: 0, count: 4 * values.count)
        bytes.withUnsafeMutableBytes { dst in
            for (i, x) in values.enumerated() { dst.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        self.init(dtype: .F32, shape: shape, bytes: bytes)
    }

    /// An integer tensor (U8, I8, I16, I32, I64 or BOOL). Every value must fit the dtype: the encoders choose the
    /// dtype from the largest value, so a value out of range is a programming error.
    public init(integers values: [Int64], dtype: SafetensorsDType, shape: [Int]) {
        precondition(dtype.isInteger, "RawTensor(integers:): \(dtype.rawValue) is not an integer dtype")
        let (lo, hi) = dtype.integerRange
        let width = dtype.byteCount
        var bytes = [UInt8](repeating: 0, count: width * values.count)
        bytes.withUnsafeMutableBytes { dst in
            for (i, v) in values.enumerated() {
                precondition(v >= lo && v <= hi, "RawTensor(integers:): element \(i) = \(v) does not fit \(dtype.rawValue)")
                var le = UInt64(bitPattern: v).littleEndian
                withUnsafeBytes(of: &le) { src in
                    for k in 0..<width { dst[width * i + k] = src[k] }
                }
            }
        }
        self.init(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// `tensor` stored as `dtype` (F32 keeps every bit; see `SafetensorsFile.write` for the other conversions);
    /// a value `dtype` cannot hold is an `IOError` naming `name` in `path`.
    public init(_ tensor: Tensor, dtype: SafetensorsDType = .F32, name: String = "tensor", path: String = "<memory>") throws {
        let t = tensor.contiguous()
        var bytes = [UInt8](repeating: 0, count: t.count * dtype.byteCount)
        try bytes.withUnsafeMutableBytes { dst in
            try t.withUnsafeBufferPointer { src in
                if !src.isEmpty { try SafetensorsFile.store(src, as: dtype, to: dst.baseAddress!, name: name, path: path) }
            }
        }
        self.init(dtype: dtype, shape: t.shape, bytes: bytes)
    }

    /// The number of elements (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// The elements as float32, converted as `SafetensorsFile.read` converts them.
    public var tensor: Tensor {
        if count == 0 { return Tensor(shape: shape, repeating: 0) }
        return bytes.withUnsafeBytes { SafetensorsFile.load($0.baseAddress!, dtype, shape) }
    }

    /// The float32 bit patterns of an F32 tensor (exact: NaN payloads and the sign of zero survive).
    public var float32Bits: [UInt32] {
        precondition(dtype == .F32, "RawTensor.float32Bits: the tensor is \(dtype.rawValue), not F32")
        return bytes.withUnsafeBytes { src in
            (0..<count).map { UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
    }

    /// The elements of an integer tensor, exactly (no float32 on the way).
    public var integers: [Int64] {
        precondition(dtype.isInteger, "RawTensor.integers: the tensor is \(dtype.rawValue), not an integer dtype")
        return bytes.withUnsafeBytes { src in
            (0..<count).map { RawTensor.integer(src, dtype, $0) }
        }
    }

    /// Element `i` of an integer tensor whose bytes are `src`.
    static func integer(_ src: UnsafeRawBufferPointer, _ dtype: SafetensorsDType, _ i: Int) -> Int64 {
        switch dtype {
        case .I64: return Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
        case .I32: return Int64(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .I16: return Int64(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
        case .I8: return Int64(src.load(fromByteOffset: i, as: Int8.self))
        case .U8, .BOOL: return Int64(src[i])
        case .F32, .F64, .F16, .BF16: preconditionFailure("RawTensor.integer: \(dtype.rawValue) is not an integer dtype")
        }
    }
}

extension SafetensorsDType {
    /// The smallest and largest value an integer dtype holds (BOOL: 0 and 1).
    var integerRange: (Int64, Int64) {
        switch self {
        case .I64: return (.min, .max)
        case .I32: return (Int64(Int32.min), Int64(Int32.max))
        case .I16: return (Int64(Int16.min), Int64(Int16.max))
        case .I8: return (Int64(Int8.min), Int64(Int8.max))
        case .U8: return (0, 255)
        case .BOOL: return (0, 1)
        case .F32, .F64, .F16, .BF16: return (0, 0)
        }
    }
}

/// A safetensors file read or written without any conversion: each tensor is a `RawTensor` (dtype, shape,
/// bytes). Reading validates exactly as `SafetensorsFile.read` does (same header, offset and coverage checks, same
/// messages); writing is atomic, as `SafetensorsFile.write` is. Tensors are laid out in name order.
public struct SafetensorsRawFile: Equatable, Sendable {
    public var tensors: [String: RawTensor]
    /// The `__metadata__` string map.
    public var metadata: [String: String]

    public init(tensors: [String: RawTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and validates a safetensors file; any malformation is an `IOError` naming the file and the tensor.
    public static func read(path: String) throws -> SafetensorsRawFile {
        try decode(try FileIO.read(path), path: path)
    }

    /// Parses and validates the bytes of a safetensors file; `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> SafetensorsRawFile {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> SafetensorsRawFile in
            let layout = try SafetensorsLayout.parse(raw, path: path)
            var file = SafetensorsRawFile(metadata: layout.metadata)
            for e in layout.entries {
                let start = layout.dataStart + e.begin
                file.tensors[e.name] = RawTensor(dtype: e.dtype, shape: e.shape,
                                                 bytes: Array(raw[start..<(layout.dataStart + e.end)]))
            }
            return file
        }
    }

    /// The bytes of this file; `path` only names it in errors.
    public func encoded(path: String = "<memory>") throws -> Data {
        let names = tensors.keys.sorted()
        let entries = names.map { SafetensorsLayout.Entry(name: $0, dtype: tensors[$0]!.dtype, shape: tensors[$0]!.shape) }
        return try SafetensorsLayout.assemble(entries, metadata: metadata, path: path) { i, dst in
            tensors[names[i]]!.bytes.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
    }

    /// The size in bytes of this file once written.
    public var encodedSize: Int {
        SafetensorsLayout.fileSize(tensors.keys.sorted().map {
            SafetensorsLayout.Entry(name: $0, dtype: tensors[$0]!.dtype, shape: tensors[$0]!.shape)
        }, metadata: metadata)
    }

    /// Writes the file atomically (to a temporary unique to the writer, then renamed over `path`).
    public func write(path: String) throws {
        try FileIO.writeAtomically(try encoded(path: path), to: path)
    }

    /// The float32 view `SafetensorsFile.read` would give of this file (tensors converted, dtypes recorded).
    public var floatFile: SafetensorsFile {
        SafetensorsFile(tensors: tensors.mapValues(\.tensor), dtypes: tensors.mapValues(\.dtype), metadata: metadata)
    }
}
