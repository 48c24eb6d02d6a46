import CBLAS

/// Row-major single-precision GEMM on OpenBLAS: C = alpha · op(A) · op(B) + beta · C.
/// A is m×k after `transA`, B is k×n after `transB`, C is m×n.
@inline(__always)
func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>) {
    let lda = transA ? m : k
    let ldb = transB ? k : n
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(n))
}

/// Measures this machine's sgemm throughput (GFLOP/s) on a square n×n×n product: the peak that
/// `shears bench` compares convolution throughput against.
public func measureSgemmGFLOPS(n: Int = 1024, repeats: Int = 5) -> Double {
    let a = Tensor(shape: [n, n], repeating: 0.5), b = Tensor(shape: [n, n], repeating: 0.25)
    let c = Tensor(uninitializedShape: [n, n])
    sgemm(transA: false, transB: false, m: n, n: n, k: n, a: a.storage.pointer, b: b.storage.pointer, c: c.storage.pointer)
    var best = Double.infinity
    for _ in 0..<repeats {
        let t0 = monotonicSeconds()
        sgemm(transA: false, transB: false, m: n, n: n, k: n, a: a.storage.pointer, b: b.storage.pointer, c: c.storage.pointer)
        best = Swift.min(best, monotonicSeconds() - t0)
    }
    return 2 * Double(n * n * n) / best / 1e9
}
