import Foundation
import XCTest
@testable import shears

/// Base of the CLI tests: a fresh scratch directory per test, and the `shears` command as a user types it.
class CommandTestCase: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("shears-cli-\(String(describing: type(of: self)))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// The message the CLI prints for `arguments`, or nil when they parse and validate.
    func refusal(_ arguments: [String]) -> String? {
        do { _ = try Shears.parseAsRoot(arguments); return nil } catch { return Shears.message(for: error) }
    }

    /// Parses and runs `arguments` as `shears` would.
    func run(_ arguments: [String]) throws {
        var command = try Shears.parseAsRoot(arguments)
        try command.run()
    }
}
