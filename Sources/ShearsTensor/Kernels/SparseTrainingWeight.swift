import CSparseKernels
import Foundation

/// The fixed sparsity structure of a pruned weight during training: which entries are kept (the mask), in CSR
/// order for the forward and the weight gradient, and in transposed (column-major) order for the backward to the
/// input. Attached to a weight `Variable` as `trainingForm`; `linear` and `conv2d` then run the sparse training
/// kernels (Kernels/SparseTrainingKernels.swift) in grad mode and out of it.
///
/// Why it holds no values: between pruning events the structure is fixed but every optimizer step changes the
/// values. The dense weight tensor stays the one source of truth (optimizers, masks, checkpoints and state dicts
/// keep working on it unchanged), and each forward gathers the kept values from it — O(nonzeros), a small
/// fraction of the product itself — so the form can never hold stale values and survives every write to the
/// weight. What the form does assume is that the entries outside the structure are 0 (MaskedOptimizer keeps
/// them so): the sparse product ignores them, and their gradient is reported as 0, the masked gradient.
public final class SparseTrainingWeight: @unchecked Sendable {
    /// Where the weight gradient is formed.
    public enum WeightGradient: String, Sendable {
        /// Only at the kept entries, 0 elsewhere (the masked gradient; fixed-mask training: IMP, APP, GMP).
        case keptEntries
        /// Everywhere, by the dense kernel (for gRDA, whose accumulator needs the gradient at pruned entries to
        /// decide whether they come back: the forward and the backward to the input stay sparse and exact while
        /// the entries outside the structure are 0).
        case dense
    }
    /// The dense weight's shape: [out, in] or [O, C, KH, KW].
    public let weightShape: [Int]
    public let weightGradient: WeightGradient
    /// Rows (out or O) and columns (in or C·KH·KW) of the weight viewed as a matrix.
    public let rows: Int
    public let cols: Int
    /// CSR structure: the kept entries of row r are `rowPtr[r] ..< rowPtr[r + 1]`, at columns `colIdx`, ascending.
    let rowPtr: [Int32]
    let colIdx: [Int32]
    /// For the transposed (CSC) order: entries of column c are `colPtr[c] ..< colPtr[c + 1]`; `byColumn[k]` is
    /// the CSR index of the k-th of them (rows ascending within a column).
    let colPtr: [Int32]
    let byColumn: [Int32]
    /// How many training forwards used this form (diagnostics and tests).
    public private(set) var uses = 0
    private let lock = NSLock()
    private var offsetCache: [String: [Int64]] = [:]
    private var groupingCache: [String: Grouping] = [:]
    /// A dense gradient buffer whose pruned entries are 0, reused across steps when nobody else holds it.
    private var gradientBuffer: Tensor?

    /// The structure of `keep`'s nonzero entries (a 0/1 mask or the pruned weight itself).
    public init(keep: Tensor, weightGradient: WeightGradient = .keptEntries) {
        self.weightGradient = weightGradient
        precondition(keep.rank == 2 || keep.rank == 4,
                     "SparseTrainingWeight: needs a linear [out, in] or conv [O, C, KH, KW] shape, got \(keep.shape)")
        let csr = CSRMatrix(keep)
        weightShape = keep.shape
        (rows, cols) = (csr.rows, csr.cols)
        rowPtr = csr.rowPtr
        colIdx = csr.colIdx
        let byCol = SparseTrainingWeight.group(csr.colIdx, groups: cols)
        (colPtr, byColumn) = (byCol.ptr, byCol.order)
    }

    public var nonzeros: Int { colIdx.count }
    /// Fraction of entries outside the structure.
    public var sparsity: Double { rows * cols == 0 ? 0 : 1 - Double(nonzeros) / Double(rows * cols) }

    /// Whether every entry of `w` outside the structure is 0 (what the form assumes; one pass over `w`). gRDA can
    /// bring pruned entries back; `SparseTraining.releaseStale` uses this after its steps.
    public func holdsOnlyKeptEntries(_ w: Tensor) -> Bool {
        guard w.shape == weightShape else { return false }
        let wc = w.contiguous()
        return wc.withUnsafeBufferPointer { b in
            for r in 0..<rows {
                var j = Int(rowPtr[r])
                let end = Int(rowPtr[r + 1])
                for c in 0..<cols {
                    if j < end && Int(colIdx[j]) == c { j += 1; continue }
                    if b[r * cols + c] != 0 { return false }
                }
            }
            return true
        }
    }

    /// The row of CSR entry j, for every j (used to build the transposed offsets).
    var rowOfEntry: [Int32] {
        var out = [Int32](repeating: 0, count: nonzeros)
        for r in 0..<rows { for j in Int(rowPtr[r])..<Int(rowPtr[r + 1]) { out[j] = Int32(r) } }
        return out
    }

    /// The kept values of `w` in CSR order and in transposed order (one gather each).
    func values(of w: Tensor) -> (csr: [Float], transposed: [Float]) {
        lock.lock(); uses += 1; lock.unlock()
        let wc = w.contiguous()
        let p = UnsafePointer(wc.storage.pointer)
        var csr = [Float](repeating: 0, count: nonzeros), tr = [Float](repeating: 0, count: nonzeros)
        for r in 0..<rows {
            let base = p + r * cols
            for j in Int(rowPtr[r])..<Int(rowPtr[r + 1]) { csr[j] = base[Int(colIdx[j])] }
        }
        for k in 0..<nonzeros { tr[k] = csr[Int(byColumn[k])] }
        return (csr, tr)
    }

    /// Offsets for a geometry `key`, computed by `make` the first time (the cache is small: one entry per shape).
    func offsets(_ key: String, _ make: () -> [Int64]) -> [Int64] {
        lock.lock(); defer { lock.unlock() }
        if let o = offsetCache[key] { return o }
        let o = make()
        if offsetCache.count > 16 { offsetCache.removeAll() }
        offsetCache[key] = o
        return o
    }

    /// Entries grouped by a key (a plane, a column): group g holds `order[ptr[g] ..< ptr[g + 1]]`, CSR indices
    /// ascending (a stable counting sort).
    struct Grouping { let ptr: [Int32]; let order: [Int32] }

    static func group(_ groupOf: [Int32], groups: Int) -> Grouping {
        var ptr = [Int32](repeating: 0, count: groups + 1)
        for g in groupOf { ptr[Int(g) + 1] += 1 }
        for g in 0..<groups { ptr[g + 1] += ptr[g] }
        var next = ptr.dropLast().map { Int($0) }
        var order = [Int32](repeating: 0, count: groupOf.count)
        for j in groupOf.indices {
            let g = Int(groupOf[j])
            order[next[g]] = Int32(j)
            next[g] += 1
        }
        return Grouping(ptr: ptr, order: order)
    }

    /// The grouping for `key`, made from `groupOf` (one group per entry) the first time.
    func grouping(_ key: String, groups: Int, _ groupOf: () -> [Int32]) -> Grouping {
        lock.lock(); defer { lock.unlock() }
        if let g = groupingCache[key] { return g }
        let made = SparseTrainingWeight.group(groupOf(), groups: groups)
        if groupingCache.count > 16 { groupingCache.removeAll() }
        groupingCache[key] = made
        return made
    }

    /// A dense gradient [weightShape] holding `values` (CSR order) at the kept entries and 0 elsewhere. The buffer
    /// of the previous step is reused when no one else holds it any more (the optimizer has released the
    /// gradient), so only the kept entries are written; otherwise a fresh zeroed one is made.
    func denseGradient(_ values: [Float]) -> Tensor {
        lock.lock(); defer { lock.unlock() }
        var g: Tensor
        if var held = gradientBuffer {
            gradientBuffer = nil
            g = isKnownUniquelyReferenced(&held.storage) ? held : Tensor.zeros(weightShape)
        } else {
            g = Tensor.zeros(weightShape)
        }
        let d = g.storage.pointer
        for r in 0..<rows {
            let base = d + r * cols
            for j in Int(rowPtr[r])..<Int(rowPtr[r + 1]) { base[Int(colIdx[j])] = values[j] }
        }
        gradientBuffer = g
        return g
    }
}
