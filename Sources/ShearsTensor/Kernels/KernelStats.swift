/// Time and floating-point work spent in convolution kernels, collected only while `enabled` (by
/// `shears bench`), so that the benchmark can report achieved conv GFLOP/s next to the sgemm peak.
public enum KernelStats {
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) public private(set) static var convSeconds = 0.0
    nonisolated(unsafe) public private(set) static var convFlops = 0.0

    public static func reset() { convSeconds = 0; convFlops = 0 }

    @inline(__always)
    static func timeConv<R>(flops: Double, _ body: () -> R) -> R {
        guard enabled else { return body() }
        let t0 = monotonicSeconds()
        let r = body()
        convSeconds += monotonicSeconds() - t0
        convFlops += flops
        return r
    }
}
