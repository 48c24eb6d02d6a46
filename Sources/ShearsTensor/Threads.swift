import CBLAS
import CDNNL
import Foundation

/// One thread count for every kernel library. oneDNN and OpenBLAS (its OpenMP build, see Package.swift)
/// share libgomp's pool, so setting it once keeps them from oversubscribing the cores.
public enum Threads {
    /// Sets the number of threads kernels use (`--threads N`).
    public static func set(_ n: Int) {
        precondition(n >= 1, "threads must be at least 1, got \(n)")
        omp_set_num_threads(Int32(n))
        openblas_set_num_threads(Int32(n))
    }

    /// The number of threads kernels currently use.
    public static var current: Int { Int(omp_get_max_threads()) }
}

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in MiB (from getrusage).
public func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
