import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a run directory, held for the whole run, so that two processes — two sweep workers, a
/// Slurm array task and a user at a terminal — never run the same directory at once.
///
/// It is an `flock(LOCK_EX | LOCK_NB)` on `<dir>/.lock`, into which the holder writes its pid, host and start
/// time. A second process refuses at once (`RunLockBusy`, naming that pid and host) instead of waiting.
///
/// Stale locks: the kernel drops an flock when the last descriptor of its holder closes, so a job killed by
/// `kill -9`, the OOM killer or Slurm's time limit leaves no lock, only the text it wrote; the next `acquire`
/// succeeds and reports the dead holder in `tookOverFrom`. The descriptor is opened `O_CLOEXEC`, so programs the
/// run starts cannot keep it alive. Should the lock still be held while the file names a pid on *this* host that
/// no longer exists (a descendant forked without exec kept the descriptor, or a lock manager kept a dead
/// client's lock), that pid cannot be running the directory: the lock file is unlinked and a fresh one taken.
///
/// On NFS, Linux turns flock into a POSIX lock held by the server (NLM for v3, the state of v4): a killed process
/// on a live client releases it at once, as locally; a crashed client's locks are released by the server when
/// its lease expires (NFSv4, typically 90 s) or when the rebooted client's statd reports in (v3). Until then a
/// holder on another host cannot be checked from here, and `acquire` refuses naming it. Mounts with `nolock`
/// make the locks local to each client — no protection across hosts; a server without a lock manager fails
/// with ENOLCK, reported as such.
///
/// Within one process, acquiring a directory it already holds nests (released when every holder released), so a
/// sweep worker may hold the lock around a command that also takes it.
public final class RunLock {
    public static let fileName = ".lock"

    /// Who holds (or held) a lock, as written into the lock file.
    public struct Holder: Equatable, Sendable, CustomStringConvertible {
        public var pid: Int32
        public var host: String
        /// ISO 8601 time at which it took the lock ("" when unknown).
        public var since: String

        public var description: String { "pid \(pid) on host \(host)" + (since.isEmpty ? "" : " (since \(since))") }

        /// This process.
        public static var current: Holder { Holder(pid: getpid(), host: hostName(), since: timestamp()) }

        var text: String { "pid=\(pid)\nhost=\(host)\nsince=\(since)\n" }

        /// Parses the lock file's text; nil when it names no pid (a clean or half-written file).
        init?(text: String) {
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            guard let pidText = fields["pid"], let pid = Int32(pidText), pid > 0 else { return nil }
            self.init(pid: pid, host: fields["host"] ?? "?", since: fields["since"] ?? "")
        }

        public init(pid: Int32, host: String, since: String) {
            self.pid = pid
            self.host = host
            self.since = since
        }

        /// Whether this holder is a process of this host that no longer exists.
        var isDeadOnThisHost: Bool { host == hostName() && !processExists(pid) }
    }

    /// The run directory (standardised path).
    public let directory: String
    /// `<directory>/.lock`.
    public let path: String
    /// The previous holder named in the lock file when this process took the lock over (a killed job); nil when
    /// the lock was free and clean, or when this is a nested acquisition.
    public let tookOverFrom: Holder?
    private var released = false

    private init(directory: String, path: String, tookOverFrom: Holder?) {
        self.directory = directory
        self.path = path
        self.tookOverFrom = tookOverFrom
    }

    deinit { release() }

    /// Takes the lock on `directory` (created if missing), or throws `RunLockBusy` naming the process that holds
    /// it, or an `IOError` when the file system cannot lock.
    public static func acquire(directory: String) throws -> RunLock {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        let path = (dir as NSString).appendingPathComponent(fileName)
        try createDirectory(dir)
        return try HeldLocks.shared.withLock { held in
            if let entry = held[path] {
                held[path] = (entry.fd, entry.count + 1)
                return RunLock(directory: dir, path: path, tookOverFrom: nil)
            }
            // Another round after unlinking a dead holder's file or losing a race for it, or when the holder has
            // not written its pid yet (a new holder, or `holder(of:)` probing for an instant).
            var broken: Holder? = nil
            for round in 0..<5 {
                switch try attempt(path) {
                case .locked(let fd, let previous):
                    held[path] = (fd, 1)
                    return RunLock(directory: dir, path: path, tookOverFrom: previous ?? broken)
                case .busy(let holder?):
                    throw RunLockBusy(directory: dir, holder: holder)
                case .busy(nil) where round < 4:
                    usleep(20_000)
                case .broke(let dead):
                    broken = dead
                case .busy(nil), .retry:
                    continue
                }
            }
            throw RunLockBusy(directory: dir, holder: nil)
        }
    }

    /// Who holds the lock on `directory` now: nil when nobody does (or only a dead process of this host, whose
    /// lock `acquire` would take over). This process counts when it holds it.
    public static func holder(of directory: String) -> Holder? {
        let path = (URL(fileURLWithPath: directory).standardizedFileURL.path as NSString).appendingPathComponent(fileName)
        if HeldLocks.shared.withLock({ $0[path] != nil }) { return Holder.current }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        let holder = Holder(text: readAll(fd)) ?? Holder(pid: 0, host: "?", since: "")
        return holder.pid != 0 && holder.isDeadOnThisHost ? nil : holder
    }

    /// Releases the lock (idempotent). The lock file stays, emptied, so that the next holder sees a clean lock.
    public func release() {
        guard !released else { return }
        released = true
        HeldLocks.shared.withLock { held in
            guard let entry = held[path] else { return }
            if entry.count > 1 { held[path] = (entry.fd, entry.count - 1); return }
            held[path] = nil
            _ = ftruncate(entry.fd, 0)
            flock(entry.fd, LOCK_UN)
            close(entry.fd)
        }
    }

    // MARK: one attempt

    private enum Attempt {
        case locked(fd: Int32, previous: Holder?)
        case busy(Holder?)
        /// Unlinked the lock file of this dead holder of this host, whose lock was still held.
        case broke(Holder)
        case retry
    }

    private static func attempt(_ path: String) throws -> Attempt {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IOError(path: path, "cannot open the run-directory lock: \(FileIO.errnoText())") }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            // Another process may have unlinked this file (breaking a dead holder's lock) between our open and
            // our flock: then we hold a lock nobody else will look at.
            guard isStillNamed(fd, path) else { close(fd); return .retry }
            let previous = Holder(text: readAll(fd))
            do { try writeHolder(fd, path: path) } catch { close(fd); throw error }
            return .locked(fd: fd, previous: previous)
        }
        let code = errno
        defer { close(fd) }
        guard code == EWOULDBLOCK || code == EAGAIN else {
            throw IOError(path: path, "cannot lock the run directory: \(FileIO.errnoText(code))"
                          + (code == ENOLCK ? " (the file system has no lock manager, e.g. NFS without lockd)" : ""))
        }
        let holder = Holder(text: readAll(fd))
        if let h = holder, h.isDeadOnThisHost, isStillNamed(fd, path) {
            unlink(path)
            return .broke(h)
        }
        return .busy(holder)
    }

    private static func writeHolder(_ fd: Int32, path: String) throws {
        let bytes = Array(Holder.current.text.utf8)
        guard ftruncate(fd, 0) == 0,
              bytes.withUnsafeBytes({ pwrite(fd, $0.baseAddress!, $0.count, 0) }) == bytes.count else {
            throw IOError(path: path, "cannot write the holder into the run-directory lock: \(FileIO.errnoText())")
        }
        _ = fsync(fd)
    }

    private static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while bytes.count < 4096 {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(bytes.count)) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isStillNamed(_ fd: Int32, _ path: String) -> Bool {
        var open = stat(), named = stat()
        guard fstat(fd, &open) == 0, stat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    private static func createDirectory(_ dir: String) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw IOError(path: dir, "cannot create the run directory: \(error.localizedDescription)")
        }
    }
}

/// Another process holds the run directory's lock.
public struct RunLockBusy: Error, CustomStringConvertible, Equatable {
    public let directory: String
    /// nil when the holder has not written its pid yet (it took the lock an instant ago).
    public let holder: RunLock.Holder?

    public var description: String {
        let who = holder.map { "\($0)" } ?? "another process (which has not written its pid yet)"
        return "\(directory) is locked by \(who): another run of this directory is in progress. "
            + "Wait for it to finish, or stop that process; a killed run's lock is taken over automatically."
    }
}

/// The locks this process holds: path → (descriptor, nesting count).
private final class HeldLocks: @unchecked Sendable {
    static let shared = HeldLocks()
    private let mutex = NSLock()
    private var held: [String: (fd: Int32, count: Int)] = [:]

    func withLock<T>(_ body: (inout [String: (fd: Int32, count: Int)]) throws -> T) rethrows -> T {
        mutex.lock(); defer { mutex.unlock() }
        return try body(&held)
    }
}

/// This machine's host name (as `hostname` prints it).
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
    return String(cString: buffer)
}

/// Whether a process with this pid exists on this host (EPERM: it exists but belongs to another user).
func processExists(_ pid: Int32) -> Bool {
    guard pid > 0 else { return false }
    return kill(pid, 0) == 0 || errno == EPERM
}

private func timestamp() -> String {
    let f = ISO8601DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date())
}
