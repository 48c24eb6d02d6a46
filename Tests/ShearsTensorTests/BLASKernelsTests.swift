import XCTest
@testable import ShearsTensor

/// The choice of OpenBLAS kernels: kernels narrower than the CPU's are replaced by its widest.
final class BLASKernelsTests: XCTestCase {
    let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]

    func testFallbackOnANewerCPUIsReplacedByItsWidestKernels() {
        XCTAssertEqual(BLASKernels.replacement(current: "Prescott", flags: avx512), "SkylakeX")
        XCTAssertEqual(BLASKernels.replacement(current: "Prescott", flags: ["avx", "avx2", "fma"]), "Haswell")
        // AVX-512 without BW/VL/DQ (Knights Landing) has no SkylakeX kernels: AVX2 ones.
        XCTAssertEqual(BLASKernels.replacement(current: "Nehalem", flags: ["avx2", "fma", "avx512f"]), "Haswell")
        // AVX2 kernels on an AVX-512 CPU (OpenBLAS 0.3.21 on AMD Zen 4): the AVX-512 ones.
        XCTAssertEqual(BLASKernels.replacement(current: "Zen", flags: avx512), "SkylakeX")
        XCTAssertEqual(BLASKernels.replacement(current: "Haswell", flags: avx512), "SkylakeX")
    }

    func testOpenBLASOwnChoiceStandsWhenItIsNotAFallback() {
        XCTAssertNil(BLASKernels.replacement(current: "SkylakeX", flags: avx512))
        XCTAssertNil(BLASKernels.replacement(current: "Cooperlake", flags: avx512))
        XCTAssertNil(BLASKernels.replacement(current: "Haswell", flags: ["avx2", "fma"]))
        XCTAssertNil(BLASKernels.replacement(current: "Zen", flags: ["avx2", "fma"]))
        // An old CPU really is Prescott-class: nothing better to ask for.
        XCTAssertNil(BLASKernels.replacement(current: "Prescott", flags: ["sse3", "avx"]))
    }

    func testThisProcessReportsAKernelName() {
        XCTAssertFalse(BLASKernels.coreName.isEmpty)
        XCTAssertFalse(BLASKernels.cpuFlags().isEmpty, "/proc/cpuinfo has a flags line on Linux")
    }
}
