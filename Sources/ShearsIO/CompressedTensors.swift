import Foundation

/// The sparse-bitmask layout of the `compressed-tensors` package (PyPI; what vLLM and Hugging Face load), as its
/// `BitmaskCompressor` (0.12.x, `sparse_compressors/sparse_bitmask.py`) writes it. Each compressed `M.weight`
/// (F32, rank ≥ 2, shape [d0, …, dk−1, C]) becomes four tensors:
///
/// - `M.compressed` F32 [nnz]: the elements that are not zero, in row-major order (`tensor[tensor != 0]`);
/// - `M.bitmask` U8 [d0, …, dk−1, ⌈C/8⌉]: the mask `tensor != 0` packed along the last axis, bit j of an element
///   at byte j / 8, least significant bit first (`numpy.packbits(axis=-1, bitorder="little")`);
/// - `M.shape` I64 [rank]: the dense shape;
/// - `M.row_offsets` I64 [d0, …, dk−1]: `cumsum(row_counts, 0) − row_counts` with row_counts the nonzeros per
///   last-axis row — for a matrix, where each row's values start in `M.compressed`.
///
/// Every other tensor (biases, batch norm, `num_batches_tracked`) is stored as it is, and the metadata carries
/// `sparsity_config`, the JSON of the package's `BitmaskConfig` (format `sparse-bitmask`, global sparsity,
/// `unstructured`, the compressed modules as `targets`), next to `shears.format` = `compressed-tensors`.
///
/// **Bit for bit.** The package's mask is `tensor != 0`, which counts −0.0 as zero and would bring it back as
/// +0.0; a weight holding a −0.0 therefore stays dense (reported as such), so decompression returns every tensor
/// with its exact bits. NaN and ±inf are nonzero and stored as values.
public enum CompressedTensors {
    public static let configKey = "sparsity_config"
    static let parts = ["compressed", "bitmask", "shape", "row_offsets"]

    /// Whether `name` = `t` is compressed: an F32 `*.weight` of rank ≥ 2 without −0.0 elements.
    static func compresses(_ name: String, _ t: RawTensor) -> Bool {
        guard name.hasSuffix(".weight"), t.dtype == .F32, t.shape.count >= 2, t.count > 0 else { return false }
        return !t.float32Bits.contains(0x8000_0000)
    }

    /// The four tensors of `t`'s bitmask compression, keyed by part name.
    static func compress(_ t: RawTensor) -> [String: RawTensor] {
        let bits = t.float32Bits
        let c = t.shape.last!, rows = t.count / c, width = (c + 7) / 8
        var mask = [UInt8](repeating: 0, count: rows * width)
        var values: [UInt32] = []
        var counts = [Int64](repeating: 0, count: rows)
        for r in 0..<rows {
            for j in 0..<c where bits[r * c + j] & 0x7FFF_FFFF != 0 {   // not ±0 (−0.0 never reaches here)
                mask[r * width + j / 8] |= 1 << UInt8(j % 8)
                values.append(bits[r * c + j])
                counts[r] += 1
            }
        }
        // cumsum along dimension 0 of the row-count array [d0, …, dk−1]: rows that differ only in dimension 0.
        let d0 = t.shape[0], stride = rows / d0
        var offsets = [Int64](repeating: 0, count: rows)
        for i in 0..<stride {
            var running: Int64 = 0
            for k in 0..<d0 { offsets[k * stride + i] = running; running += counts[k * stride + i] }
        }
        let lead = Array(t.shape.dropLast())
        return ["compressed": RawTensor(dtype: .F32, shape: [values.count], bytes: littleEndianBytes(values)),
                "bitmask": RawTensor(dtype: .U8, shape: lead + [width], bytes: mask),
                "shape": RawTensor(integers: t.shape.map(Int64.init), dtype: .I64, shape: [t.shape.count]),
                "row_offsets": RawTensor(integers: offsets, dtype: .I64, shape: lead)]
    }

    /// The bytes of `bits` as safetensors stores them (little-endian, as the host: x86-64, arm64).
    static func littleEndianBytes(_ bits: [UInt32]) -> [UInt8] { bits.withUnsafeBytes { Array($0) } }

    /// Encodes `tensors` in the layout; returns the file and one decision per tensor (name order).
    public static func encode(_ tensors: [String: RawTensor], metadata: [String: String], path: String) throws
        -> (file: SafetensorsRawFile, decisions: [SparseStateDict.Decision]) {
        var meta = metadata.filter { !SparseStateDict.isLayoutKey($0.key) && $0.key != configKey }
        meta[SparseStateDict.formatKey] = StateDictFormat.compressedTensors.rawValue
        meta[SparseStateDict.versionKey] = SparseStateDict.version
        var out = SafetensorsRawFile(metadata: meta)
        var decisions: [SparseStateDict.Decision] = []
        var targets: [String] = []
        var floats = 0, zeros = 0
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let zeroCount = t.dtype == .F32 ? t.float32Bits.reduce(0) { $0 + ($1 & 0x7FFF_FFFF == 0 ? 1 : 0) } : 0
            if t.dtype == .F32 { floats += t.count; zeros += zeroCount }
            let dense = t.bytes.count
            guard compresses(name, t) else {
                out.tensors[name] = t
                decisions.append(.init(name: name, shape: t.shape, dtype: t.dtype, encoding: .dense, zeros: zeroCount,
                                       denseBytes: dense, encodedBytes: dense))
                continue
            }
            let module = String(name.dropLast(".weight".count))
            for (part, p) in compress(t) {
                let key = "\(module).\(part)"
                guard tensors[key] == nil else {
                    throw IOError(path: path, "tensor \"\(name)\" cannot be compressed: its part \"\(key)\" is already a tensor of the state dict")
                }
                out.tensors[key] = p
            }
            targets.append(module)
            let encoded = parts.reduce(0) { $0 + out.tensors["\(module).\($1)"]!.bytes.count }
            decisions.append(.init(name: name, shape: t.shape, dtype: t.dtype, encoding: .compressedTensors, zeros: zeroCount,
                                   denseBytes: dense, encodedBytes: encoded))
        }
        meta[configKey] = sparsityConfig(targets: targets, sparsity: floats == 0 ? 0 : Double(zeros) / Double(floats))
        out.metadata = meta
        return (out, decisions)
    }

    /// The package's `BitmaskConfig` as JSON.
    static func sparsityConfig(targets: [String], sparsity: Double) -> String {
        "{\"format\":\"sparse-bitmask\",\"global_sparsity\":\(sparsity),\"sparsity_structure\":\"unstructured\","
            + "\"targets\":[\(targets.map(jsonQuoted).joined(separator: ","))],\"ignore\":[]}"
    }

    /// Whether `file` holds compressed-tensors bitmask entries (`M.compressed` + `M.bitmask` + `M.shape`), with or
    /// without Shears' own metadata (a file written by the package itself has none).
    public static func detect(_ file: SafetensorsRawFile) -> Bool {
        file.tensors.keys.contains { k in
            guard k.hasSuffix(".compressed") else { return false }
            let m = k.dropLast(".compressed".count)
            return file.tensors["\(m).bitmask"] != nil && file.tensors["\(m).shape"] != nil
        }
    }

    /// The dense state dict of a compressed-tensors file: every `M.compressed` / `M.bitmask` / `M.shape`
    /// (/ `M.row_offsets`) group becomes `M.weight`; other tensors pass through. Errors name the file and module.
    public static func decode(_ file: SafetensorsRawFile, path: String) throws -> [String: RawTensor] {
        var out: [String: RawTensor] = [:]
        var modules = Set<String>()
        for k in file.tensors.keys where k.hasSuffix(".compressed") { modules.insert(String(k.dropLast(".compressed".count))) }
        for (k, t) in file.tensors {
            let owner = parts.lazy.compactMap { p in k.hasSuffix(".\(p)") ? String(k.dropLast(p.count + 1)) : nil }.first
            if let owner, modules.contains(owner) { continue }
            out[k] = t
        }
        for m in modules.sorted() {
            guard out["\(m).weight"] == nil else {
                throw IOError(path: path, "module \"\(m)\" has both \"\(m).weight\" and a compressed form; expected one of the two")
            }
            out["\(m).weight"] = try decompress(m, file.tensors, path: path)
        }
        return out
    }

    /// `M.weight` from its parts, checking every size against the shape.
    static func decompress(_ m: String, _ tensors: [String: RawTensor], path: String) throws -> RawTensor {
        func fail(_ s: String) -> IOError { IOError(path: path, "compressed tensor \"\(m)\" (compressed-tensors sparse-bitmask): \(s)") }
        guard let values = tensors["\(m).compressed"], let mask = tensors["\(m).bitmask"], let shapeT = tensors["\(m).shape"] else {
            throw fail("missing \"\(m).bitmask\" or \"\(m).shape\" next to \"\(m).compressed\"")
        }
        guard [.I64, .I32].contains(shapeT.dtype), shapeT.shape.count == 1 else {
            throw fail("\"\(m).shape\" is \(shapeT.dtype.rawValue) \(shapeT.shape); expected I64 [rank]")
        }
        let shape = shapeT.integers.map { Int($0) }
        guard shape.count >= 1, shape.allSatisfy({ $0 >= 1 }) else { throw fail("\"\(m).shape\" is \(shape); expected positive dimensions") }
        guard values.dtype == .F32, values.shape.count == 1 else {
            throw fail("\"\(m).compressed\" is \(values.dtype.rawValue) \(values.shape); Shears reads F32 [nnz] values")
        }
        let c = shape.last!, width = (c + 7) / 8, rows = shape.reduce(1, *) / c
        guard mask.dtype == .U8, mask.shape == Array(shape.dropLast()) + [width] else {
            throw fail("\"\(m).bitmask\" is \(mask.dtype.rawValue) \(mask.shape); expected U8 \(Array(shape.dropLast()) + [width]) for shape \(shape)")
        }
        var set = 0
        for r in 0..<rows { for j in 0..<c where mask.bytes[r * width + j / 8] & (1 << UInt8(j % 8)) != 0 { set += 1 } }
        guard set == values.count else {
            throw fail("the bitmask marks \(set) elements but \"\(m).compressed\" holds \(values.count) values; expected one per set bit")
        }
        let v = values.float32Bits
        var bits = [UInt32](repeating: 0, count: rows * c)
        var k = 0
        for r in 0..<rows { for j in 0..<c where mask.bytes[r * width + j / 8] & (1 << UInt8(j % 8)) != 0 { bits[r * c + j] = v[k]; k += 1 } }
        return RawTensor(dtype: .F32, shape: shape, bytes: littleEndianBytes(bits))
    }
}
