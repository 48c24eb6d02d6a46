import Foundation
import XCTest
import ShearsIO

/// Base of the protocol tests: a fresh scratch directory per test for run directories.
class RunTestCase: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("shears-\(String(describing: type(of: self)))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// The run directory `name` inside the scratch directory.
    func dir(_ name: String) throws -> RunDirectory { try RunDirectory(path: scratch.appendingPathComponent(name).path) }
}
