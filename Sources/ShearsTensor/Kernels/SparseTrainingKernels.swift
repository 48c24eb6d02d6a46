import CSparseKernels
import Foundation

// Sparse linear and convolution for training: forward, backward to the input and the weight gradient at the
// kept entries only, for a weight whose structure (`SparseTrainingWeight`) is fixed. Three products, all on the
// C kernels of Sources/CSparseKernels/SparseTraining.c:
//
//     forward        Y[r, t]  = Σ_{j ∈ row r}    w_j · X[off_j + t]          (shears_train_rows)
//     to the input   GX[c, t] = Σ_{k ∈ column c} w_k · GY[offᵀ_k + t]        (shears_train_rows, transposed)
//     weight         gw_j     = Σ_t GY[r_j, t] · X[off_j + t]                (shears_train_sddmm)
//
// - linear: X = xᵀ [in, T], GY = gyᵀ [out, T], off_j = col_j·T, offᵀ_k = row_k·T, T = N rounded up to 32 with
//   zero columns (a multiple of 32 is what the weight-gradient kernel's lanes need; the zeros add nothing).
// - convolution: the `.direct` layout of the inference kernels (SparseKernels.swift), for the whole batch:
//   X holds the zero-padded input once, one plane per channel and stride phase, and every tap is a shift of one
//   plane: off_j = plane(c, kh mod s, kw mod s)·T + (kh / s)·Wq + kw / s. The product runs over the planes' full
//   width; GY holds the output gradient in that same geometry with zeros at the positions outside the real
//   output, so the thrown-away positions contribute nothing to either backward product. The backward to the
//   input reads GY shifted back by each tap (offᵀ_k = r_k·T − shift_k; a zero margin in front of GY covers the
//   negative shifts), which is the transposed convolution without a col2im scatter.
//
// Determinism: each output element is one fixed-order sum inside one kernel call, and threads only split which
// elements a call computes (positions for the two row products, output rows for the weight gradient), so the
// results are the same bits for every thread count. The AVX-512 and AVX2 builds agree bit for bit too.

/// Which build of the training kernels runs (2 = AVX-512F, 1 = AVX2+FMA, 0 = portable).
public enum SparseTrainingKernelBuild {
    public static var level: Int { Int(shears_train_isa()) }
    public static var name: String { ["portable", "avx2+fma", "avx512f"][level] }
    /// Caps the build (tests compare the builds); nil lifts the cap.
    public static func limit(_ level: Int?) { shears_train_limit_isa(Int32(level ?? -1)) }
}

/// The multiply-add peak of this CPU in GFLOP/s on `threads` threads, measured by independent fused
/// multiply-add chains at the widest vector width the training kernels use (best of `repetitions`).
public func measureFMAPeakGFLOPS(threads: Int, repetitions: Int = 3) -> Double {
    var best = 0.0
    for _ in 0..<max(1, repetitions) {
        var perThread = [Double](repeating: 0, count: max(1, threads))
        perThread.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            parallelParts(max(1, threads)) { part in base[part] = shears_fma_peak_flops(20_000_000) }
        }
        best = max(best, perThread.reduce(0, +) / 1e9)
    }
    return best
}

@inline(__always) func roundUp32(_ n: Int) -> Int { (n + 31) / 32 * 32 }

// MARK: the three products, split over threads

/// Y[r, t] = Σ_j values_j · X[offsets_j + t], t < positions, split over threads by blocks of 128 positions.
func trainRows(rowPtr: [Int32], offsets: [Int64], values: [Float], rows: Int, x: UnsafePointer<Float>,
               y: UnsafeMutablePointer<Float>, ldy: Int, positions t: Int) {
    rowPtr.withUnsafeBufferPointer { rp in
        offsets.withUnsafeBufferPointer { op in
            values.withUnsafeBufferPointer { vp in
                let (r, o, v) = (rp.baseAddress!, op.baseAddress ?? UnsafePointer(bitPattern: 8)!,
                                 vp.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                let blocks = (t + 127) / 128
                let threads = (values.count + rows) * t >= 65_536 ? min(Threads.current, blocks) : 1
                parallelParts(max(1, threads)) { part in
                    let (b0, b1) = (part * blocks / threads, (part + 1) * blocks / threads)
                    shears_train_rows(r, o, v, x, y, Int64(ldy), 0, Int64(rows), Int64(b0 * 128), Int64(min(t, b1 * 128)))
                }
            }
        }
    }
}

/// gw_j = Σ_{t < positions} dy[r_j, t] · X[offsets_j + t] for every kept entry, split over threads by rows with
/// equal nonzero counts.
func trainWeightGradient(rowPtr: [Int32], offsets: [Int64], rows: Int, x: UnsafePointer<Float>,
                         dy: UnsafePointer<Float>, lddy: Int, positions t: Int) -> [Float] {
    let nnz = offsets.count
    var out = [Float](repeating: 0, count: nnz)
    guard nnz > 0 else { return out }
    let scratch = Tensor(uninitializedShape: [nnz * 32])
    let threads = nnz * t >= 65_536 ? Threads.current : 1
    var bounds = [0]
    for part in 1..<max(threads, 1) {
        var row = bounds.last!
        while row < rows && Int(rowPtr[row]) < part * nnz / threads { row += 1 }
        bounds.append(row)
    }
    bounds.append(rows)
    rowPtr.withUnsafeBufferPointer { rp in
        offsets.withUnsafeBufferPointer { op in
            out.withUnsafeMutableBufferPointer { gp in
                let (r, o, g, s) = (rp.baseAddress!, op.baseAddress!, gp.baseAddress!, scratch.storage.pointer)
                parallelParts(bounds.count - 1) { part in
                    shears_train_sddmm(r, o, x, dy, Int64(lddy), Int64(t), g, s, Int64(bounds[part]), Int64(bounds[part + 1]))
                }
            }
        }
    }
    return out
}

// MARK: linear

/// `linear` with a sparse training form: y = x · Wᵀ + b, with the backward of both products and the weight
/// gradient formed only at the kept entries. Same contract as `linear` (Ops/Linear.swift).
public func sparseTrainingLinear(_ x: Variable, weight: Variable, bias: Variable?, form: SparseTrainingWeight) -> Variable {
    let (n, inF, outF) = (x.shape[0], x.shape[1], weight.shape[0])
    let tp = roundUp32(n)
    let vals = form.values(of: weight.value)
    let xt = Tensor(uninitializedShape: [inF * tp])
    let xc = x.value.contiguous()
    withExtendedLifetime(xc) { transposePadded(xc.storage.pointer, rows: n, cols: inF, into: xt.storage.pointer, padTo: tp) }
    let off = form.offsets("linear \(tp)") { form.colIdx.map { Int64($0) * Int64(tp) } }
    let yt = Tensor(uninitializedShape: [outF * tp])
    trainRows(rowPtr: form.rowPtr, offsets: off, values: vals.csr, rows: outF, x: xt.storage.pointer,
              y: yt.storage.pointer, ldy: tp, positions: tp)
    let y = Tensor(uninitializedShape: [n, outF])
    shears_transpose(yt.storage.pointer, Int64(tp), y.storage.pointer, Int64(outF), Int64(outF), Int64(n), bias?.value.storage.pointer)

    let needX = x.requiresGrad
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(y, op: "linear (sparse training)", inputs: inputs) { gyAny in
        let gy = gyAny.contiguous()
        let gyt = Tensor(uninitializedShape: [outF * tp])
        transposePadded(gy.storage.pointer, rows: n, cols: outF, into: gyt.storage.pointer, padTo: tp)
        let gw: Tensor
        if form.weightGradient == .dense {
            let t = Tensor(uninitializedShape: [outF, inF])
            sgemm(transA: true, transB: false, m: outF, n: inF, k: n, a: gy.storage.pointer, b: xc.storage.pointer, c: t.storage.pointer)
            gw = t
        } else {
            gw = form.denseGradient(trainWeightGradient(rowPtr: form.rowPtr, offsets: off, rows: outF, x: xt.storage.pointer,
                                                        dy: gyt.storage.pointer, lddy: tp, positions: tp))
        }
        var gx: Tensor?
        if needX {
            let offT = form.offsets("linearT \(tp)") {
                let rowOf = form.rowOfEntry
                return form.byColumn.map { Int64(rowOf[Int($0)]) * Int64(tp) }
            }
            let gxt = Tensor(uninitializedShape: [inF * tp])
            trainRows(rowPtr: form.colPtr, offsets: offT, values: vals.transposed, rows: inF, x: gyt.storage.pointer,
                      y: gxt.storage.pointer, ldy: tp, positions: tp)
            let t = Tensor(uninitializedShape: [n, inF])
            shears_transpose(gxt.storage.pointer, Int64(tp), t.storage.pointer, Int64(inF), Int64(inF), Int64(n), nil)
            gx = t
        }
        return bias == nil ? [gx, gw] : [gx, gw, gy.sumRows()]
    }
}

/// dst[c * padTo + r] = src[r * cols + c], with columns rows ..< padTo of dst set to 0.
func transposePadded(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>, padTo: Int) {
    shears_transpose(src, Int64(cols), dst, Int64(padTo), Int64(rows), Int64(cols), nil)
    if padTo > rows { for c in 0..<cols { (dst + c * padTo + rows).initialize(repeating: 0, count: padTo - rows) } }
}
