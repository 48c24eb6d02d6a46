/// A sparse matrix in compressed sparse row (CSR) form: the nonzeros of row `r` are
/// `values[rowPtr[r] ..< rowPtr[r + 1]]` at columns `colIdx[…]`, columns ascending within a row.
///
/// Built from a pruned weight by dropping *exact* zeros (what magnitude pruning leaves), so the sparse product
/// computes the same sum as the dense one, only in a different order. Indices are Int32: half the bytes of Int
/// and enough for every layer here (a row of more than 2³¹ columns is refused). 16-bit column indices were not
/// tried: the kernels do not read `colIdx` in their inner loop at all, they read precomputed offsets.
public struct CSRMatrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public let rowPtr: [Int32]
    public let colIdx: [Int32]
    public let values: [Float]

    public var nonzeros: Int { values.count }
    /// Fraction of entries that are zero (0 for an empty matrix).
    public var sparsity: Double { rows * cols == 0 ? 0 : 1 - Double(nonzeros) / Double(rows * cols) }

    /// The CSR form of a row-major `rows × cols` matrix, keeping every entry that is not exactly 0 (NaN is kept).
    public init(rows: Int, cols: Int, rowMajor dense: UnsafeBufferPointer<Float>) {
        precondition(rows >= 0 && cols >= 0 && dense.count == rows * cols,
                     "CSRMatrix: \(dense.count) values for a \(rows)×\(cols) matrix, expected \(rows * cols)")
        precondition(cols <= Int(Int32.max) && dense.count <= Int(Int32.max),
                     "CSRMatrix: a \(rows)×\(cols) matrix is too large for 32-bit indices")
        var ptr = [Int32](repeating: 0, count: rows + 1)
        var idx: [Int32] = [], vals: [Float] = []
        for r in 0..<rows {
            let row = dense.baseAddress! + r * cols
            for c in 0..<cols where row[c] != 0 {
                idx.append(Int32(c))
                vals.append(row[c])
            }
            ptr[r + 1] = Int32(vals.count)
        }
        self.rows = rows
        self.cols = cols
        rowPtr = ptr
        colIdx = idx
        values = vals
    }

    /// The CSR form of a weight tensor viewed as a matrix [shape[0], product of the rest] (OIHW → [O, C·KH·KW]).
    public init(_ weight: Tensor) {
        precondition(weight.rank >= 2, "CSRMatrix: needs a weight of rank ≥ 2 ([out, in] or [O, C, KH, KW]), got shape \(weight.shape)")
        let w = weight.contiguous()
        let cols = weight.shape.dropFirst().reduce(1, *)
        self = w.withUnsafeBufferPointer { CSRMatrix(rows: weight.shape[0], cols: cols, rowMajor: $0) }
    }

    /// The dense row-major matrix again (tests, and the round trip that proves nothing was lost).
    public func denseRowMajor() -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for j in Int(rowPtr[r])..<Int(rowPtr[r + 1]) { out[r * cols + Int(colIdx[j])] = values[j] }
        }
        return out
    }
}
