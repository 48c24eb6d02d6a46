import Foundation

/// Why a dataset could not be read: a missing file, a truncated or corrupt file, a wrong magic number, a count
/// mismatch. Every message names the file (or directory), what was expected and what was found, so a user can
/// fix the download without reading the reader's source.
public struct DataError: Error, CustomStringConvertible, LocalizedError {
    public let description: String

    public init(_ description: String) { self.description = description }

    // LocalizedError so that `error.localizedDescription` (what ArgumentParser and most CLIs print) shows the
    // message instead of Foundation's generic "The operation could not be completed".
    public var errorDescription: String? { description }
}
