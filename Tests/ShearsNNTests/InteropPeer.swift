import Foundation
import XCTest

/// The Python peers of the interoperability tests (ONNX's checker, ONNX Runtime, compressed-tensors), through
/// scripts/interop_peer.py and the venv scripts/setup_pyenv.sh makes (`make test` runs it). A missing venv fails
/// the test with the command that creates it: these checks are part of the suite, not optional.
enum InteropPeer {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        ProcessInfo.processInfo.environment["SHEARS_TEST_PYTHON"] ?? root.appendingPathComponent(".venv-test/bin/python").path
    }

    /// Runs `interop_peer.py arguments…`; returns its stdout, or fails the test with its stderr.
    static func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("no Python test venv at \(python): create it with `bash scripts/setup_pyenv.sh` (make test runs it), "
                    + "or point SHEARS_TEST_PYTHON at a python with onnx, onnxruntime and compressed-tensors", file: file, line: line)
            throw PeerFailure()
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [root.appendingPathComponent("scripts/interop_peer.py").path] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: stdout, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            XCTFail("interop_peer.py \(arguments.first ?? "") failed (\(p.terminationStatus)): \(String(decoding: stderr, as: UTF8.self))",
                    file: file, line: line)
            throw PeerFailure()
        }
        return text
    }

    struct PeerFailure: Error {}

    /// A fresh temporary directory for one test's files.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shears-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
