import Foundation
import XCTest
import ShearsTensor

/// The `shears` binary runs on the CPU's own kernels: where OpenBLAS falls back to pre-AVX2 kernels on an AVX2 /
/// AVX-512 CPU (Debian's 0.3.21 on Emerald Rapids), the CLI re-executes itself with `OPENBLAS_CORETYPE` set; a value the
/// user set is kept.
final class BLASKernelsCommandTests: XCTestCase {
    private var shearsBinary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("shears").path
    }

    /// The "blas" field of `shears bench infer`'s JSON line, run with `coretype` in the environment (nil: unset).
    private func reportedKernels(coretype: String?) throws -> String {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: shearsBinary), "build the shears binary first: \(shearsBinary)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: shearsBinary)
        p.arguments = ["bench", "infer", "--model", "lenet300-100", "--sparsity", "0", "--iterations", "1", "--repetitions", "1", "--threads", "1"]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_CORETYPE"] = coretype
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let line = try XCTUnwrap(String(decoding: data, as: UTF8.self).split(separator: "\n").last { $0.hasPrefix("{") })
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return try XCTUnwrap(json["blas"] as? String, "no blas field in \(line)")
    }

    func testUnsetCoretypeNeverLeavesAnAVX2CPUOnFallbackKernels() throws {
        let core = try reportedKernels(coretype: nil)
        XCTAssertNil(BLASKernels.replacement(current: core, flags: BLASKernels.cpuFlags()),
                     "shears ran on OpenBLAS' \(core) kernels although this CPU has wider ones")
    }

    func testTheUsersCoretypeIsKept() throws {
        guard BLASKernels.cpuFlags().isSuperset(of: ["avx2", "fma"]) else {
            throw XCTSkip("this CPU has no AVX2/FMA, so OpenBLAS' Haswell kernels cannot be asked for")
        }
        XCTAssertEqual(try reportedKernels(coretype: "Haswell"), "Haswell")
    }
}
