import Foundation

/// One NumPy `.npy` array (format versions 1.0, 2.0 and 3.0, numpy's `lib/format.py`): the magic
/// `\x93NUMPY`, major and minor version bytes, the header length (2 bytes little-endian in 1.0, 4 bytes in
/// 2.0/3.0), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded
/// with spaces, then the raw data.
///
/// Only the element types Shears' datasets use are read — `|u1` (uint8), `<f4` (float32), `<i4` (int32),
/// `<i8` (int64); any other `descr` is refused with its numpy name and the `astype` that converts it. A
/// Fortran-ordered array is reordered to C order here, so callers always see row-major data.
struct NPYArray {
    enum DType: String {
        case uint8 = "uint8", float32 = "float32", int32 = "int32", int64 = "int64"
        var size: Int { [.uint8: 1, .float32: 4, .int32: 4, .int64: 8][self]! }
    }

    let dtype: DType
    let shape: [Int]
    /// Row-major (C-order) element bytes, little-endian.
    let data: [UInt8]

    var count: Int { shape.reduce(1, *) }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Parses `bytes`; `name` (file, or file and member) goes into every error message.
    init(_ bytes: [UInt8], name: String) throws {
        guard bytes.count >= 10, Array(bytes[0..<6]) == NPYArray.magic else {
            throw DataError("\(name): not a .npy array: expected the magic bytes 93 'NUMPY', found \(bytes.prefix(6).map { String(format: "%02x", $0) }.joined(separator: " "))")
        }
        let major = bytes[6]
        guard (1...3).contains(major) else {
            throw DataError("\(name): unsupported .npy format version \(major).\(bytes[7]): expected 1.0, 2.0 or 3.0")
        }
        let lengthBytes = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthBytes else { throw DataError("\(name): truncated .npy header") }
        var headerLength = 0
        for k in 0..<lengthBytes { headerLength |= Int(bytes[8 + k]) << (8 * k) }
        let dataStart = 8 + lengthBytes + headerLength
        guard dataStart <= bytes.count else {
            throw DataError("\(name): truncated .npy file: the header needs \(dataStart) bytes, the file has \(bytes.count)")
        }
        let header = String(decoding: bytes[(8 + lengthBytes)..<dataStart], as: UTF8.self)
        let fields = try NPYHeader.parse(header, name: name)
        dtype = try NPYArray.dtype(fields.descr, name: name)
        shape = fields.shape
        let expected = shape.reduce(1, *) * dtype.size, found = bytes.count - dataStart
        guard found == expected else {
            let what = found < expected ? "truncated .npy data" : "\(found - expected) unexpected trailing byte(s) in .npy data"
            throw DataError("\(name): \(what): shape \(shape) of \(dtype.rawValue) needs \(expected) bytes, found \(found)")
        }
        let raw = Array(bytes[dataStart...])
        data = fields.fortranOrder ? NPYArray.fortranToC(raw, shape: shape, itemSize: dtype.size) : raw
    }

    /// numpy's `descr` for the types read, and names for those refused (so the message can say what it found).
    static func dtype(_ descr: String, name: String) throws -> DType {
        switch descr {
        case "|u1", "<u1", "u1": return .uint8
        case "<f4": return .float32
        case "<i4": return .int32
        case "<i8": return .int64
        default:
            let names = ["f8": "float64", "f2": "float16", "i2": "int16", "i1": "int8", "u2": "uint16", "u4": "uint32",
                         "u8": "uint64", "b1": "bool", "c8": "complex64", "c16": "complex128", "f4": "float32",
                         "i4": "int32", "i8": "int64", "O": "object"]
            let code = descr.drop { "<>|=".contains($0) }
            let endian = descr.hasPrefix(">") ? " big-endian" : ""
            let known = names[String(code)].map { "\(endian) \($0)" } ?? ""
            throw DataError("\(name): unsupported dtype '\(descr)'\(known): expected uint8 ('|u1') or float32 ('<f4') images and int64 ('<i8'), int32 ('<i4') or uint8 labels; convert with x.astype(np.float32) or y.astype(np.int64)")
        }
    }

    /// Fortran order stores the first index fastest; C order the last. Walk the C-order positions and read
    /// each element from its Fortran offset.
    static func fortranToC(_ raw: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
        let n = shape.reduce(1, *)
        guard shape.count > 1, n > 0 else { return raw }
        var fStride = [Int](repeating: 1, count: shape.count)
        for d in 1..<shape.count { fStride[d] = fStride[d - 1] * shape[d - 1] }
        var out = [UInt8](repeating: 0, count: raw.count)
        var index = [Int](repeating: 0, count: shape.count)
        for c in 0..<n {
            let f = zip(index, fStride).reduce(0) { $0 + $1.0 * $1.1 }
            for b in 0..<itemSize { out[c * itemSize + b] = raw[f * itemSize + b] }
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// The elements as Int (labels).
    func integers() -> [Int] {
        data.withUnsafeBytes { raw -> [Int] in
            switch dtype {
            case .uint8: return raw.bindMemory(to: UInt8.self).map { Int($0) }
            case .int32: return (0..<count).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .int64: return (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case .float32: return (0..<count).map { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self)) }
            }
        }
    }
}

/// The header dict of a `.npy` file: the three keys numpy writes, in any order.
enum NPYHeader {
    struct Fields {
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
    }

    static func parse(_ header: String, name: String) throws -> Fields {
        func fail(_ why: String) -> DataError {
            DataError("\(name): malformed .npy header \(header.trimmingCharacters(in: .whitespacesAndNewlines).debugDescription): \(why)")
        }
        guard let descr = value(of: "descr", in: header), descr.first == "'" || descr.first == "\"" else {
            throw fail("expected 'descr' with a quoted dtype string (structured dtypes are not image arrays)")
        }
        guard let fortran = value(of: "fortran_order", in: header), fortran == "True" || fortran == "False" else {
            throw fail("expected 'fortran_order': True or False")
        }
        guard let shapeText = value(of: "shape", in: header), shapeText.first == "(", shapeText.last == ")" else {
            throw fail("expected 'shape' as a tuple of integers")
        }
        let inner = shapeText.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let shape = inner.compactMap { Int($0.hasSuffix("L") ? String($0.dropLast()) : $0) }
        guard shape.count == inner.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("expected non-negative integer dimensions in 'shape', found \(shapeText)")
        }
        guard shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) < Int.max / 8 else {
            throw fail("shape \(shape) is too large")
        }
        return Fields(descr: String(descr.dropFirst().dropLast()), fortranOrder: fortran == "True", shape: shape)
    }

    /// The text of the value after `'key':` up to the next top-level comma or the closing brace (a quoted
    /// string or a parenthesised tuple kept whole).
    static func value(of key: String, in header: String) -> String? {
        let chars = Array(header)
        for quote in ["'", "\""] {
            guard let range = header.range(of: "\(quote)\(key)\(quote)") else { continue }
            var i = header.distance(from: header.startIndex, to: range.upperBound)
            while i < chars.count && chars[i] == " " { i += 1 }
            guard i < chars.count && chars[i] == ":" else { return nil }
            i += 1
            while i < chars.count && chars[i] == " " { i += 1 }
            guard i < chars.count else { return nil }
            let start = i
            if chars[i] == "'" || chars[i] == "\"" {
                let q = chars[i]
                i += 1
                while i < chars.count && chars[i] != q { i += 1 }
                return i < chars.count ? String(chars[start...i]) : nil
            }
            if chars[i] == "(" {
                while i < chars.count && chars[i] != ")" { i += 1 }
                return i < chars.count ? String(chars[start...i]) : nil
            }
            while i < chars.count && chars[i] != "," && chars[i] != "}" { i += 1 }
            return String(chars[start..<i]).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}
