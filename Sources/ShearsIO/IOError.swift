import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file Shears could not read or write: names the file and says what was expected and what was found.
public struct IOError: Error, CustomStringConvertible, Equatable {
    /// The file (or directory) concerned.
    public let path: String
    /// What went wrong, e.g. `tensor "fc.weight": data_offsets [0, 20] span 20 bytes but F32 [3, 2] needs 24`.
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Low-level file helpers shared by the writers: atomic replacement and appends, with errors as `IOError`.
enum FileIO {
    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Reads a whole file, or throws an `IOError` naming it.
    static func read(_ path: String) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw IOError(path: path, "no such file")
        }
        if isDir.boolValue { throw IOError(path: path, "is a directory, expected a file") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw IOError(path: path, "cannot read: \(error.localizedDescription)")
        }
    }

    /// Writes `data` to a temporary file unique to this writer (`path.<host>.<pid>.<n>.tmp`: two processes, even on
    /// two hosts sharing a file system, never write the same one), flushes it to disk, then renames it over
    /// `path`, so that a process killed at any point leaves either the old file or the new one, never half of
    /// one. Temporaries of `path` left by killed writers of this host (and the `path.tmp` of older versions) are
    /// removed after a successful write.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let tmp = "\(path).\(hostName()).\(getpid()).\(TemporaryNames.next()).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw IOError(path: path, "cannot create \(tmp): \(errnoText())") }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write \(tmp): \(errnoText())"
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot flush \(tmp): \(errnoText())" }
        if close(fd) != 0, failure == nil { failure = "cannot close \(tmp): \(errnoText())" }
        if failure == nil, rename(tmp, path) != 0 { failure = "cannot rename \(tmp) to \(path): \(errnoText())" }
        if let failure {
            unlink(tmp)
            throw IOError(path: path, failure)
        }
        TemporaryNames.removeStale(of: path)
    }

    /// Appends `data` to `path` (created if absent) with one `write` in append mode.
    static func append(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw IOError(path: path, "cannot open for appending: \(errnoText())") }
        defer { close(fd) }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw IOError(path: path, "cannot append: \(errnoText())")
                }
                done += n
            }
        }
    }

    /// Whether a non-empty file at `path` does not end in a newline (a line cut short by a killed process).
    static func endsWithoutNewline(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        guard let end = try? h.seekToEnd(), end > 0 else { return false }
        try? h.seek(toOffset: end - 1)
        guard let last = try? h.read(upToCount: 1) else { return false }
        return last.first != UInt8(ascii: "\n")
    }
}

/// Names and clean-up of `FileIO.writeAtomically`'s temporary files.
enum TemporaryNames {
    private static let counter = Counter()

    /// A number unique within this process, so that two threads writing the same path never share a temporary.
    static func next() -> Int { counter.next() }

    /// Removes `path.tmp` and `path.<this host>.<pid>.<n>.tmp` whose pid no longer exists (a killed writer's).
    static func removeStale(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent, base = (path as NSString).lastPathComponent
        let prefix = "\(base).\(hostName()).", dirPath = dir.isEmpty ? "." : dir
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dirPath) else { return }
        for name in names where name == base + ".tmp" || (name.hasPrefix(prefix) && name.hasSuffix(".tmp")) {
            if name != base + ".tmp" {
                let parts = name.dropFirst(prefix.count).split(separator: ".")
                guard parts.count == 3, let pid = Int32(parts[0]), !processExists(pid) else { continue }
            }
            unlink((dirPath as NSString).appendingPathComponent(name))
        }
    }

    private final class Counter: @unchecked Sendable {
        private let mutex = NSLock()
        private var value = 0
        func next() -> Int { mutex.lock(); defer { mutex.unlock() }; value += 1; return value }
    }
}
