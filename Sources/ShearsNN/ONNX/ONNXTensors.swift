import Foundation
import ONNXProto
import ShearsTensor

/// Why an ONNX file cannot be read, imported or written; the message names the file, the node or the tensor.
public struct ONNXError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// ONNX's `TensorProto.DataType` codes for the element types Shears reads and writes.
enum ONNXType {
    static let float: Int32 = 1
    static let int32: Int32 = 6
    static let int64: Int32 = 7
    static let double: Int32 = 11
}

extension Onnx_TensorProto {
    /// A float32 initializer, `raw_data` little-endian as the ONNX spec fixes it (every zero kept).
    public init(name: String, float t: Tensor) {
        self.init()
        self.name = name
        dims = t.shape.map(Int64.init)
        dataType = ONNXType.float
        let values = t.scalars   // logical row-major order, whatever the memory format
        rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    /// An int64 initializer (a Reshape target).
    public init(name: String, int64 values: [Int64], dims: [Int]) {
        self.init()
        self.name = name
        self.dims = dims.map(Int64.init)
        dataType = ONNXType.int64
        rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    var shape: [Int] { dims.map { Int($0) } }
    var elementCount: Int { dims.reduce(1) { $0 * Int($1) } }

    /// The values as float32 (from float, double, int32 or int64 data), in row-major order.
    func floats(in file: String) throws -> [Float] {
        let n = elementCount
        func check(_ got: Int) throws {
            guard got == n else {
                throw ONNXError("\(file): initializer \"\(name)\" has dims \(dims) (\(n) elements) but holds \(got) values")
            }
        }
        guard dataLocation != .external else {
            throw ONNXError("\(file): initializer \"\(name)\" keeps its data in an external file, which Shears does not read; "
                + "re-export with the data inside the model (onnx.save(model, path, save_as_external_data=False))")
        }
        switch dataType {
        case ONNXType.float:
            if !rawData.isEmpty {
                try check(rawData.count / 4)
                // raw_data is little-endian, as the host (x86-64, arm64): one copy, not a loop per element.
                return [Float](unsafeUninitializedCapacity: n) { out, count in
                    rawData.withUnsafeBytes { raw in UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(4 * n)])) }
                    count = n
                }
            }
            try check(floatData.count); return floatData
        case ONNXType.double:
            if !rawData.isEmpty {
                try check(rawData.count / 8)
                return rawData.withUnsafeBytes { raw in (0..<n).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) } }
            }
            try check(doubleData.count); return doubleData.map(Float.init)
        case ONNXType.int64, ONNXType.int32:
            return try int64s(in: file).map(Float.init)
        default:
            throw ONNXError("\(file): initializer \"\(name)\" has data type \(dataType); expected float (1), double (11), int32 (6) or int64 (7)")
        }
    }

    /// The values as Int64 (from int64 or int32 data).
    func int64s(in file: String) throws -> [Int64] {
        let n = elementCount
        let width = dataType == ONNXType.int64 ? 8 : dataType == ONNXType.int32 ? 4 : 0
        guard width > 0 else {
            throw ONNXError("\(file): tensor \"\(name)\" has data type \(dataType); expected int64 (7) or int32 (6)")
        }
        if !rawData.isEmpty {
            guard rawData.count == n * width else {
                throw ONNXError("\(file): tensor \"\(name)\" has dims \(dims) but \(rawData.count) bytes of \(width)-byte integers")
            }
            return rawData.withUnsafeBytes { raw in
                (0..<n).map { i in width == 8 ? Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                                              : Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            }
        }
        let values = width == 8 ? int64Data : int32Data.map(Int64.init)
        guard values.count == n else {
            throw ONNXError("\(file): tensor \"\(name)\" has dims \(dims) (\(n) elements) but holds \(values.count) values")
        }
        return values
    }

    func tensor(in file: String) throws -> Tensor { Tensor(shape: shape, scalars: try floats(in: file)) }
}

extension Onnx_AttributeProto {
    public static func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(v); return a
    }
    public static func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map(Int64.init); return a
    }
    public static func float(_ name: String, _ v: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = v; return a
    }
}

extension Onnx_NodeProto {
    /// The attribute `name`, if the node has it.
    func attribute(_ name: String) -> Onnx_AttributeProto? { attribute.first { $0.name == name } }
    func int(_ name: String, default d: Int) -> Int { attribute(name).map { Int($0.i) } ?? d }
    func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map { Int($0) } } }
    func float(_ name: String, default d: Float) -> Float { attribute(name)?.f ?? d }
    /// "Conv node \"/conv1/Conv\"" (or its first output when it has no name), for messages.
    var label: String { "\(opType) node \"\(name.isEmpty ? (output.first ?? "?") : name)\"" }
}
