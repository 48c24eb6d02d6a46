import Foundation
import XCTest
import ShearsIO
import ShearsTensor

/// A fresh temporary directory, removed when the test ends.
func makeTempDir(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shears-io-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// The bytes of a safetensors file with a hand-written header (padded with spaces to a multiple of 8 unless
/// `pad` is false) and data; `headerLength` overrides the length field.
func rawSafetensors(_ header: String, data: [UInt8], headerLength: UInt64? = nil, pad: Bool = true) -> Data {
    var h = Array(header.utf8)
    while pad && h.count % 8 != 0 { h.append(0x20) }
    var out = Data()
    withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: h)
    out.append(contentsOf: data)
    return out
}

/// Little-endian bytes of float32 values.
func f32Bytes(_ xs: [Float]) -> [UInt8] {
    xs.flatMap { x in withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }
}

/// Asserts that `body` throws an `IOError` whose path is `path` and whose message contains every fragment.
func assertIOError(_ path: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                   _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an IOError mentioning \(fragments)", file: file, line: line)
    } catch let e as IOError {
        XCTAssertEqual(e.path, path, file: file, line: line)
        XCTAssertTrue(e.description.hasPrefix(path), "description should start with the path: \(e)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(e.message.contains(f), "message \"\(e.message)\" lacks \"\(f)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected an IOError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}
