import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Which kernels OpenBLAS runs, and the fix for a CPU newer than the library.
///
/// OpenBLAS (DYNAMIC_ARCH, as Debian builds it) picks its kernel set from the CPU's family and model when the
/// library loads. A model it does not know falls back to "Prescott", the SSE3 kernels: Debian 12's 0.3.21 does so on
/// Intel family 6 model 0xCF (Emerald Rapids), where LeNet-300-100's forward at batch 60 ran at 43.7k img/s against
/// 155.6k with the AVX-512 ("SkylakeX") kernels the CPU supports (`shears bench infer --model lenet300-100
/// --sparsity 0 --batch-size 60`, 2 threads). The choice cannot be changed after the library has loaded, and
/// OpenBLAS reads `OPENBLAS_CORETYPE` only then, so the CLI re-executes itself once with the variable set.
public enum BLASKernels {
    /// OpenBLAS' name for the kernel set in use (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Kernel sets older than AVX2: on a CPU with AVX2 or AVX-512 they mean OpenBLAS did not recognise the model.
    static let preAVX2: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "atom",
                                       "katmai", "coppermine", "northwood", "banias", "opteron", "barcelona", "bobcat"]
    /// Kernel sets that use AVX-512.
    static let avx512Kernels: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// The kernel set to ask for on a CPU with `flags` (as /proc/cpuinfo spells them) when OpenBLAS chose `current`;
    /// nil when its own choice stands. Narrower kernels than the CPU runs are replaced: pre-AVX2 ones on an AVX2 CPU
    /// (Haswell's), anything but AVX-512 ones on an AVX-512 CPU (SkylakeX's; 0.3.21 gives AMD's Zen 4 the AVX2
    /// kernels of Zen/Haswell).
    public static func replacement(current: String, flags: Set<String>) -> String? {
        let name = current.lowercased()
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) {
            return avx512Kernels.contains(name) ? nil : "SkylakeX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]), preAVX2.contains(name) { return "Haswell" }
        return nil
    }

    /// The CPU's feature flags from /proc/cpuinfo (empty where there is none).
    public static func cpuFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let l = line {
            let s = String(cString: l)
            if s.hasPrefix("flags") {
                return Set(s.split(separator: ":", maxSplits: 1).last.map { $0.split(separator: " ").map { $0.trimmingCharacters() } } ?? [])
            }
        }
        return []
    }

    /// Re-executes this process with `OPENBLAS_CORETYPE` set when OpenBLAS chose kernels narrower than the CPU's
    /// (`replacement`). A variable the user set is left alone (and stops any re-execution, so this happens at
    /// most once); so is every case where the new image cannot be started.
    public static func reexecIfFallback() {
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let core = replacement(current: coreName, flags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")   // exec failed: run on as we are
    }
}

private extension Substring {
    func trimmingCharacters() -> String { String(filter { !$0.isWhitespace }) }
}
