import CDNNL
import CSparseKernels
import Foundation

// Sparse linear and convolution forwards for pruned weights (inference only: nothing here is taped).
//
// Every kernel is the same product, done by `shears_sparse_rows` (Sources/CSparseKernels):
//
//     Y[r, t] = Σ_{j ∈ row r of the CSR weight} value_j · X[offset_j + t],   t ∈ 0..<T
//
// so each nonzero costs one contiguous multiply-add over T positions. What differs is how X, T and the
// offsets are made from the input:
// - linear, batch N > 1: X = xᵀ [in, N], offset_j = col_j · N, T = N; batch 1 reads x itself (T = 1, a
//   sparse matrix-vector product);
// - convolution, `.im2col`: X = the im2col matrix [C·KH·KW, N·OH·OW] (rows in OIHW column order, so a CSR
//   column is its row), offset_j = col_j · N·OH·OW;
// - convolution, `.direct`: no im2col. X holds the zero-padded input once, one plane per channel and stride
//   phase (a stride-s input is split into s² sub-images, in which a stride-s convolution is a stride-1 one).
//   The output is computed over the planes' full width, so the tap (c, kh, kw) of every output position is the
//   same shift of one plane: offset_j = start of plane (c, kh mod s, kw mod s) + (kh / s)·Wq + kw / s. The
//   columns and rows that fall outside the real output are computed and thrown away: cheap on large images,
//   wasteful on tiny ones (2×2 outputs of 4×4 planes), where `.im2col` wins.
// Results are written in the layout the dense ops return: [N, out] for linear, channels-last for conv.

/// How `sparseConv2d` lays out the input for the product (see the comment at the top of SparseKernels.swift).
public enum SparseConvMethod: String, Sendable, CaseIterable {
    case direct, im2col
}

/// A pruned weight prepared for sparse inference: its CSR form, plus the per-input-shape offsets the kernels
/// read. Attached to a weight `Variable` as `inferenceForm`; the ops use it only when grad mode is off.
public final class SparseWeight: @unchecked Sendable {
    public let csr: CSRMatrix
    /// The dense weight's shape: [out, in] or [O, C, KH, KW].
    public let weightShape: [Int]
    /// For a convolution weight, the input layout to use; nil picks the one with less arithmetic per call.
    public var convMethod: SparseConvMethod?
    /// How many forwards used this form (diagnostics and tests).
    public private(set) var uses = 0

    private struct Key: Equatable { let method: SparseConvMethod?; let dims: [Int] }
    private var cached: (key: Key, offsets: [Int64])?
    private let lock = NSLock()

    public init(_ weight: Tensor, convMethod: SparseConvMethod? = nil) {
        precondition(weight.rank == 2 || weight.rank == 4,
                     "SparseWeight: needs a linear [out, in] or conv [O, C, KH, KW] weight, got shape \(weight.shape)")
        csr = CSRMatrix(weight)
        weightShape = weight.shape
        self.convMethod = convMethod
    }

    /// Offsets for `key`, computed by `make` when the input geometry differs from the last call's.
    fileprivate func offsets(method: SparseConvMethod?, dims: [Int], _ make: () -> [Int64]) -> [Int64] {
        lock.lock(); defer { lock.unlock() }
        uses += 1
        let key = Key(method: method, dims: dims)
        if let c = cached, c.key == key { return c.offsets }
        let made = make()
        cached = (key, made)
        return made
    }
}

/// Which build of the C kernels runs (Sources/CSparseKernels: AVX2+FMA where the CPU has it, portable otherwise).
public enum SparseKernelBuild {
    public static var usesAVX2: Bool { shears_sparse_uses_avx2() != 0 }
    /// Runs the portable build even on AVX2 machines (tests check that both builds agree with the dense ops).
    static func forcePortable(_ on: Bool) { shears_sparse_force_portable(on ? 1 : 0) }
}

// MARK: linear

/// y = x · Wᵀ + b for x [N, in] and a sparse W [out, in]; returns [N, out] (what `linear` returns).
public func sparseLinear(_ x: Tensor, weight w: SparseWeight, bias: Tensor?) -> Tensor {
    checkShape(x.rank == 2 && w.weightShape.count == 2 && x.shape[1] == w.weightShape[1], op: "sparseLinear",
               "input", x.shape, "weight", w.weightShape, expected: "input [N, in] and weight [out, in] with the same in")
    if let bias { checkShape(bias.shape == [w.weightShape[0]], op: "sparseLinear", "bias", bias.shape, "weight", w.weightShape, expected: "bias [out]") }
    let (n, outF) = (x.shape[0], w.weightShape[0])
    let csr = w.csr
    let offsets = w.offsets(method: nil, dims: [n]) { csr.colIdx.map { Int64($0) * Int64(n) } }
    let y = Tensor(uninitializedShape: [n, outF])
    if n == 1 {
        sparseRows(csr, offsets, x: x.storage.pointer, y: y.storage.pointer, ldy: 1, positions: 1)
        if let b = bias?.storage.pointer {
            let d = y.storage.pointer
            for o in 0..<outF { d[o] += b[o] }
        }
    } else {
        let inF = x.shape[1]
        let xt = Tensor(uninitializedShape: [inF, n]), yt = Tensor(uninitializedShape: [outF, n])
        shears_transpose(x.storage.pointer, Int64(inF), xt.storage.pointer, Int64(n), Int64(n), Int64(inF), nil)
        sparseRows(csr, offsets, x: xt.storage.pointer, y: yt.storage.pointer, ldy: n, positions: n)
        shears_transpose(yt.storage.pointer, Int64(n), y.storage.pointer, Int64(outF), Int64(outF), Int64(n), bias?.storage.pointer)
    }
    return y
}

// MARK: convolution

/// Multiply-adds of one `sparseConv2d` call with `method`, counting the wasted positions of `.direct` and the
/// input copy each method makes (an im2col entry or a plane entry counted as two multiply-adds' worth).
public func sparseConvWork(_ method: SparseConvMethod, input x: [Int], weight w: [Int], nonzeros: Int,
                           stride s: Int, padding p: Int) -> Double {
    let (n, c, h, wd) = (x[0], x[1], x[2], x[3])
    let (kh, kw) = (w[2], w[3])
    switch method {
    case .direct:
        let plane = n * ((h + 2 * p + s - 1) / s) * ((wd + 2 * p + s - 1) / s)
        return Double(nonzeros) * Double(plane) + 2 * Double(c * s * s * plane)
    case .im2col:
        let m = n * ((h + 2 * p - kh) / s + 1) * ((wd + 2 * p - kw) / s + 1)
        return Double(nonzeros) * Double(m) + 2 * Double(c * kh * kw * m)
    }
}

/// 2-D convolution with a sparse weight [O, C, KH, KW]: the same result as `conv2d` (channels-last
/// [N, O, OH, OW]) for x [N, C, H, W] in either memory format.
///
/// Images go through in groups small enough that a group's planes (or im2col matrix) and product stay in L2:
/// the input is then read from memory once and the output written once, as the dense kernel does; a copy of
/// the whole batch would triple the memory traffic, which at high sparsity costs more than the arithmetic.
/// Groups run on separate threads when there are enough of them; otherwise each product is split.
public func sparseConv2d(_ x: Tensor, weight w: SparseWeight, bias: Tensor?, stride s: Int, padding p: Int) -> Tensor {
    let xs = x.shape, ws = w.weightShape
    checkShape(xs.count == 4 && ws.count == 4 && xs[1] == ws[1], op: "sparseConv2d", "input", xs, "weight", ws,
               expected: "input [N, C, H, W] and weight [O, C, KH, KW] with the same C")
    if let bias { checkShape(bias.shape == [ws[0]], op: "sparseConv2d", "bias", bias.shape, "weight", ws, expected: "bias [O]") }
    precondition(s >= 1 && p >= 0 && xs[2] + 2 * p >= ws[2] && xs[3] + 2 * p >= ws[3],
                 "sparseConv2d: stride \(s), padding \(p) and kernel \(ws[2])×\(ws[3]) do not fit input \(xs)")
    let csr = w.csr
    let method = w.convMethod ?? (sparseConvWork(.direct, input: xs, weight: ws, nonzeros: csr.nonzeros, stride: s, padding: p)
        <= sparseConvWork(.im2col, input: xs, weight: ws, nonzeros: csr.nonzeros, stride: s, padding: p) ? .direct : .im2col)
    let src = x.channelsLast()
    let geometry = SparseConvGeometry(input: xs, weight: ws, stride: s, padding: p, method: method)
    let out = Tensor(uninitializedShape: [xs[0], ws[0], geometry.oh, geometry.ow], format: .channelsLast)
    let offsets = w.offsets(method: method, dims: [geometry.group, xs[2], xs[3], s, p]) { geometry.offsets(csr) }
    let (n, g) = (xs[0], geometry.group)
    let groups = (n + g - 1) / g
    let threads = Threads.current
    let (xp, dst, bp) = (UnsafePointer(src.storage.pointer), out.storage.pointer, bias.map { UnsafePointer($0.storage.pointer) })
    if threads > 1 && groups >= threads {
        parallelParts(threads) { part in
            var k = part
            while k < groups {
                geometry.run(csr, offsets, x: xp, out: dst, bias: bp, images: k * g ..< Swift.min(n, (k + 1) * g), threads: 1)
                k += threads
            }
        }
    } else {
        for k in 0..<groups {
            geometry.run(csr, offsets, x: xp, out: dst, bias: bp, images: k * g ..< Swift.min(n, (k + 1) * g), threads: threads)
        }
    }
    return out
}

/// The shapes one sparse convolution works with: the output size, the layout of X for `method`, and how many
/// images go through together.
struct SparseConvGeometry {
    let n, c, h, wd, o, kh, kw, s, p, oh, ow: Int
    let method: SparseConvMethod
    /// `.direct`: the size of one image's plane (hq × wq).
    let hq, wq: Int
    /// Product positions per image: hq·wq for `.direct` (some thrown away), oh·ow for `.im2col`.
    let perImage: Int
    /// Rows of X: C·s² planes or C·KH·KW im2col rows.
    let xRows: Int
    /// Images per group, and the product's row length for a full group.
    let group: Int
    var positions: Int { group * perImage }

    init(input x: [Int], weight w: [Int], stride: Int, padding: Int, method: SparseConvMethod) {
        (n, c, h, wd) = (x[0], x[1], x[2], x[3])
        (o, kh, kw) = (w[0], w[2], w[3])
        (s, p) = (stride, padding)
        oh = (h + 2 * p - kh) / s + 1
        ow = (wd + 2 * p - kw) / s + 1
        self.method = method
        hq = (h + 2 * p + s - 1) / s
        wq = (wd + 2 * p + s - 1) / s
        perImage = method == .direct ? hq * wq : oh * ow
        xRows = method == .direct ? c * s * s : c * kh * kw
        // At least 256 positions (four 64-wide blocks), otherwise as many images as keep X and Y together within
        // 256 KB; tiny images with many channels (VGG's 2×2 layers) take the whole batch, so that the weight is
        // read once.
        let fitL2 = Swift.max(1, (256 << 10) / 4 / Swift.max(1, (xRows + o) * perImage))
        let minimum = (256 + perImage - 1) / perImage
        group = Swift.min(n, Swift.max(fitL2, minimum))
    }

    /// Where each nonzero's window starts in X (see the comment at the top of this file).
    func offsets(_ csr: CSRMatrix) -> [Int64] {
        switch method {
        case .im2col:
            return csr.colIdx.map { Int64($0) * Int64(positions) }
        case .direct:
            let plane = positions
            return csr.colIdx.map { col in
                let col = Int(col)
                let (ch, ki, kj) = (col / (kh * kw), (col / kw) % kh, col % kw)
                return Int64(((ch * s + ki % s) * s + kj % s) * plane + (ki / s) * wq + kj / s)
            }
        }
    }

    /// Convolves `images` (at most `group` of them): builds X, runs the product, writes their output rows.
    func run(_ csr: CSRMatrix, _ offsets: [Int64], x xp: UnsafePointer<Float>, out dst: UnsafeMutablePointer<Float>,
             bias bp: UnsafePointer<Float>?, images: Range<Int>, threads: Int) {
        let stride = positions                                 // X and Y row length, for a full group
        let used = images.count * perImage
        // `.direct` reads for thrown-away positions run past the last plane by at most this much.
        let slack = method == .direct ? ((kh - 1) / s + 1) * wq + kw : 0
        let xBuffer = Tensor(uninitializedShape: [xRows * stride + slack])
        let yBuffer = Tensor(uninitializedShape: [o * stride])
        let xq = xBuffer.storage.pointer, yp = yBuffer.storage.pointer
        xq.initialize(repeating: 0, count: xBuffer.count)     // padding (and taps falling on it) stays 0
        let b0 = images.lowerBound
        switch method {
        case .direct:
            // Each input row: its pixels of stride phase pb are rows of a [pixels, C] matrix (row stride s·C)
            // that become C plane rows.
            for b in images {
                for i in 0..<h {
                    let (pa, pi) = ((i + p) % s, (i + p) / s)
                    for pb in 0..<s {
                        let j0 = ((pb - p) % s + s) % s
                        guard j0 < wd else { continue }
                        shears_transpose(xp + ((b * h + i) * wd + j0) * c, Int64(s * c),
                                         xq + (pa * s + pb) * stride + (b - b0) * perImage + pi * wq + (j0 + p) / s,
                                         Int64(s * s * stride), Int64((wd - j0 + s - 1) / s), Int64(c), nil)
                    }
                }
            }
        case .im2col:
            // Output row (b, i), tap (ki, kj): the in-bounds output columns read a run of input pixels (row
            // stride s·C) that becomes C rows of the im2col matrix.
            let taps = kh * kw
            for b in images {
                for i in 0..<oh {
                    for ki in 0..<kh {
                        let ih = i * s - p + ki
                        guard ih >= 0 && ih < h else { continue }
                        for kj in 0..<kw {
                            let jlo = Swift.max(0, (p - kj + s - 1) / s)   // first j with j·s − p + kj ≥ 0
                            let last = wd - 1 + p - kj                      // j·s ≤ last stays inside the row
                            guard last >= 0 else { continue }
                            let jhi = Swift.min(ow - 1, last / s)
                            guard jlo <= jhi else { continue }
                            shears_transpose(xp + ((b * h + ih) * wd + jlo * s - p + kj) * c, Int64(s * c),
                                             xq + (ki * kw + kj) * stride + ((b - b0) * oh + i) * ow + jlo, Int64(taps * stride),
                                             Int64(jhi - jlo + 1), Int64(c), nil)
                        }
                    }
                }
            }
        }
        sparseRows(csr, offsets, x: xq, y: yp, ldy: stride, positions: used, threads: threads)
        // Each output row: OW positions of the O product rows, transposed to [OW, O] (+ bias).
        let rowStart = method == .direct ? wq : ow
        for b in images {
            for i in 0..<oh {
                shears_transpose(yp + (b - b0) * perImage + i * rowStart, Int64(stride), dst + (b * oh + i) * ow * o, Int64(o),
                                 Int64(o), Int64(ow), bp)
            }
        }
    }
}

// MARK: the shared product and its threads

/// Y[r, t] = Σ_j value_j · X[offset_j + t] for every row r of `csr` and t in 0..<positions, on `Threads.current`
/// threads of libgomp's pool. Wide products are split by position blocks (each thread reads one window of X
/// for all rows); narrow ones by rows, with equal nonzero counts per thread. Small products run on the calling
/// thread: waking the pool costs more than they do.
func sparseRows(_ csr: CSRMatrix, _ offsets: [Int64], x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                ldy: Int, positions t: Int, threads: Int = Threads.current) {
    precondition(offsets.count == csr.nonzeros, "sparseRows: \(offsets.count) offsets for \(csr.nonzeros) nonzeros")
    let rows = csr.rows
    csr.rowPtr.withUnsafeBufferPointer { rp in
        offsets.withUnsafeBufferPointer { op in
            csr.values.withUnsafeBufferPointer { vp in
                let (r, o, v) = (rp.baseAddress!, op.baseAddress ?? UnsafePointer(bitPattern: 8)!,
                                 vp.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                func run(_ rows: Range<Int>, _ ts: Range<Int>) {
                    shears_sparse_rows(r, o, v, x, y, Int64(ldy), Int64(rows.lowerBound), Int64(rows.upperBound),
                                       Int64(ts.lowerBound), Int64(ts.upperBound))
                }
                let work = (csr.nonzeros + rows) * t
                guard threads > 1, work >= 65_536 else { return run(0..<rows, 0..<t) }
                let block = 256
                let blocks = (t + block - 1) / block
                if blocks >= 2 * threads {
                    parallelParts(threads) { part in
                        let (b0, b1) = (part * blocks / threads, (part + 1) * blocks / threads)
                        run(0..<rows, b0 * block ..< Swift.min(t, b1 * block))
                    }
                } else {
                    // Row boundaries where the running nonzero count crosses each thread's share.
                    var bounds = [0]
                    let total = csr.nonzeros + rows
                    var row = 0
                    for part in 1..<threads {
                        let target = part * total / threads
                        while row < rows && Int(r[row]) + row < target { row += 1 }
                        bounds.append(row)
                    }
                    bounds.append(rows)
                    parallelParts(threads) { part in
                        if bounds[part] < bounds[part + 1] { run(bounds[part]..<bounds[part + 1], 0..<t) }
                    }
                }
            }
        }
    }
}

/// Runs `body(0)`, …, `body(parts - 1)` on libgomp's thread pool — the pool oneDNN and OpenBLAS use, sized
/// by `Threads.set` — so that a sparse layer between two dense ones does not compete with their spinning
/// OpenMP workers for the cores, as a second pool (GCD's) would.
func parallelParts(_ parts: Int, _ body: (Int) -> Void) {
    guard parts > 1 else {
        if parts == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        var context = (parts, body)
        withUnsafeMutablePointer(to: &context) { ctx in
            GOMP_parallel({ raw in
                let (parts, body) = raw!.assumingMemoryBound(to: (Int, (Int) -> Void).self).pointee
                let team = Int(omp_get_num_threads())
                var part = Int(omp_get_thread_num())
                while part < parts {
                    body(part)
                    part += team
                }
            }, ctx, UInt32(parts), 0)
        }
    }
}
