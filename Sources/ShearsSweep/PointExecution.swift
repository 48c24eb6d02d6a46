import Foundation
import ShearsIO
#if canImport(Glibc)
import Glibc
#endif

/// What one worker (a local pool's subprocess or a Slurm array task) does with one point: takes the run
/// directory's lock, sends its output to the point's log, runs the command in this process and records its exit
/// status. `shears sweep exec STATE INDEX` is this.
public enum PointExecution {
    /// Exit status of a worker that found its point's directory locked by another process (EX_TEMPFAIL).
    public static let busyStatus: Int32 = 75
    /// Exit status of a worker that could not read its point (EX_NOINPUT).
    public static let noPointStatus: Int32 = 66

    /// Runs point `index` of `state`'s list with `command` (which runs `shears` arguments and returns the exit
    /// status). Messages that concern the worker rather than the run (no such point, a busy directory) go to
    /// this process's stderr; everything the command prints goes to the point's log.
    public static func run(state: SweepState, index: Int, command: ([String]) -> Int32) -> Int32 {
        let point: SweepPoint
        do { point = try state.point(at: index) } catch {
            FileHandle.standardError.write(Data("shears sweep exec: \(error)\n".utf8))
            return noPointStatus
        }
        let lock: RunLock
        do { lock = try RunLock.acquire(directory: point.directory) } catch let busy as RunLockBusy {
            FileHandle.standardError.write(Data("shears sweep exec: skipped point \(index) (\(point.label)): \(busy)\n".utf8))
            return busyStatus
        } catch {
            FileHandle.standardError.write(Data("shears sweep exec: point \(index) (\(point.label)): \(error)\n".utf8))
            return 1
        }
        defer { lock.release() }
        do { try redirectOutput(to: state.logPath(point)) } catch {
            FileHandle.standardError.write(Data("shears sweep exec: \(error)\n".utf8))
            return 1
        }
        try? FileManager.default.removeItem(atPath: state.statusPath(point))
        print("=== shears sweep: point \(index) (\(point.label)) — \(RunLock.Holder.current)")
        print("=== shears \(point.arguments.map(shellQuoted).joined(separator: " "))")
        if let previous = lock.tookOverFrom { print("=== took over the lock of \(previous), which is gone (a killed job)") }
        let status: Int32
        if point.isDone {
            print("=== already finished: \(point.directory)/\(point.doneFile) exists")
            status = 0
        } else {
            status = command(point.arguments)
        }
        print("=== exit status \(status)")
        fflush(stdout)
        try? state.recordExit(point, status: status)
        return status
    }

    /// Points stdout and stderr at `path` (appending; created with its folder), line-buffered so that a killed
    /// run's log ends where it stopped.
    static func redirectOutput(to path: String) throws {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SweepError(path, "cannot open the point's log: \(String(cString: strerror(errno)))") }
        fflush(stdout)
        fflush(stderr)
        dup2(fd, 1)
        dup2(fd, 2)
        close(fd)
        setvbuf(stdout, nil, _IOLBF, 0)
    }
}

/// `word` quoted for a POSIX shell when it needs it.
public func shellQuoted(_ word: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !word.isEmpty && word.allSatisfy(safe.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
