import Foundation
import XCTest
import ShearsIO
import ShearsNN
import ShearsTensor

/// Writes the files that `Fixtures/crosscheck.py` loads with the Python safetensors package (and PyTorch,
/// when installed) to check that what Shears writes, PyTorch reads. CI checks only the Swift side; to run the
/// Python side by hand:
///
///     SHEARS_IO_CROSSCHECK_DIR=/tmp/xc swift test --filter CrossCheckTests
///     python Tests/ShearsIOTests/Fixtures/crosscheck.py /tmp/xc
final class CrossCheckTests: XCTestCase {
    /// The values `crosscheck.py` expects, per dtype (each exactly representable in it).
    static let values: [SafetensorsDType: [Float]] = [
        .F32: [0, -1.5, 3.25e-8, 1e30],
        .F64: [0.1, -2, 1e-30, 7],
        .F16: [0.5, -2, 65504, 0x1p-24],
        .BF16: [1, -2.5, 3.140625, 0x1p100],
        .I64: [0, -1, 16_777_216, -8_589_934_592],
        .I32: [2_147_483_520, -2_147_483_648, 0, 5],
        .I16: [-32768, 32767, 0, 12],
        .I8: [-128, 127, 0, -3],
        .U8: [0, 1, 128, 255],
        .BOOL: [0, 1, 1, 0],
    ]

    func testWritesCrossCheckFiles() throws {
        let dir: String
        if let d = ProcessInfo.processInfo.environment["SHEARS_IO_CROSSCHECK_DIR"] { dir = d } else { dir = try makeTempDir(self) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

        var tensors: [String: Tensor] = [:]
        var dtypes: [String: SafetensorsDType] = [:]
        for (dtype, xs) in Self.values {
            tensors["t.\(dtype.rawValue)"] = Tensor(shape: [2, 2], scalars: xs)
            dtypes["t.\(dtype.rawValue)"] = dtype
        }
        tensors["scalar"] = Tensor(42)
        tensors["channels_last"] = Tensor(shape: [2, 3, 4, 5], scalars: (0..<120).map(Float.init)).channelsLast()
        // numpy has no bfloat16, so BF16 goes in a file of its own (checked with torch).
        let bf16 = ["t.BF16": tensors.removeValue(forKey: "t.BF16")!]
        dtypes["t.BF16"] = nil
        try SafetensorsFile.write(path: dir + "/dtypes.safetensors", tensors: tensors, dtypes: dtypes, metadata: ["format": "pt", "who": "shears"])
        try SafetensorsFile.write(path: dir + "/bf16.safetensors", tensors: bf16, dtypes: ["t.BF16": .BF16])

        var g = Generator(seed: 11)
        let net = ResNetCIFAR(depth: 8, generator: &g)
        for _ in 0..<3 {
            let x = Variable(Tensor.normal([4, 3, 32, 32], generator: &g))
            _ = Context.with(.training) { GradMode.withoutGrad { net(x) } }
        }
        let x = Tensor.normal([2, 3, 32, 32], generator: &g)
        let y = Context.with(.inference) { GradMode.withoutGrad { net(Variable(x)) } }.value
        try saveStateDict(net, to: dir + "/resnet8.safetensors", extra: ["_input": x, "_output": y])

        // The Swift side of the check: both files read back as written.
        let back = try SafetensorsFile.read(path: dir + "/dtypes.safetensors")
        for (name, t) in tensors { XCTAssertEqual(back.tensors[name]?.scalars, t.scalars, name) }
        XCTAssertEqual(try SafetensorsFile.read(path: dir + "/bf16.safetensors").tensors["t.BF16"]?.scalars, Self.values[.BF16])
        let model = try SafetensorsFile.read(path: dir + "/resnet8.safetensors")
        XCTAssertEqual(model.tensors.count, net.stateDict.count + 2)
        XCTAssertEqual(model.tensors["_output"]?.scalars, y.scalars)
    }
}
