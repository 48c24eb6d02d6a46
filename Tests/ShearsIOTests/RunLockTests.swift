import Foundation
import XCTest
@testable import ShearsIO
#if canImport(Glibc)
import Glibc
#endif

/// The run-directory lock between real processes: the second process is this test binary itself, started with
/// SHEARS_RUNLOCK_HOLD set, which takes the lock, says so, and holds it until told to let go (or is killed).
final class RunLockTests: XCTestCase {
    static let holdVariable = "SHEARS_RUNLOCK_HOLD"

    override class func setUp() {
        super.setUp()
        // Helper mode: hold the lock on $SHEARS_RUNLOCK_HOLD until <dir>/release appears, then exit.
        guard let dir = ProcessInfo.processInfo.environment[holdVariable] else { return }
        do {
            let lock = try RunLock.acquire(directory: dir)
            try "\(getpid())".write(toFile: dir + "/ready", atomically: true, encoding: .utf8)
            for _ in 0..<600 where !FileManager.default.fileExists(atPath: dir + "/release") { usleep(50_000) }
            lock.release()
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("lock helper: \(error)\n".utf8))
            exit(3)
        }
    }

    private func makeDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shears-lock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Starts this test binary as a second process holding the lock on `dir`; returns it once it holds it.
    private func startHolder(_ dir: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        p.arguments = ["ShearsIOTests.RunLockTests/testHolderTextParsing"]
        p.environment = ProcessInfo.processInfo.environment.merging([Self.holdVariable: dir]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        for _ in 0..<400 where !FileManager.default.fileExists(atPath: dir + "/ready") && p.isRunning { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/ready"), "the helper process never took the lock")
        return p
    }

    func testSecondProcessIsRefusedAtOnceNamingTheHolder() throws {
        let dir = try makeDir()
        let helper = try startHolder(dir)
        defer { if helper.isRunning { helper.terminate() } }
        let started = Date()
        XCTAssertThrowsError(try RunLock.acquire(directory: dir)) { error in
            guard let busy = error as? RunLockBusy else { return XCTFail("expected RunLockBusy, got \(error)") }
            XCTAssertEqual(busy.holder?.pid, helper.processIdentifier)
            XCTAssertEqual(busy.holder?.host, hostName())
            XCTAssertTrue(busy.description.contains("pid \(helper.processIdentifier) on host \(hostName())"), busy.description)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.0, "refusing must not wait for the holder")
        XCTAssertEqual(RunLock.holder(of: dir)?.pid, helper.processIdentifier)

        // Released cleanly: the lock is free and clean (no holder to take over).
        FileManager.default.createFile(atPath: dir + "/release", contents: Data())
        helper.waitUntilExit()
        XCTAssertEqual(helper.terminationStatus, 0)
        XCTAssertNil(RunLock.holder(of: dir))
        let lock = try RunLock.acquire(directory: dir)
        XCTAssertNil(lock.tookOverFrom)
        lock.release()
    }

    func testLockOfAKilledProcessIsTakenOver() throws {
        let dir = try makeDir()
        let helper = try startHolder(dir)
        kill(helper.processIdentifier, SIGKILL)
        helper.waitUntilExit()
        XCTAssertNil(RunLock.holder(of: dir), "the kernel releases a killed holder's flock")
        let lock = try RunLock.acquire(directory: dir)
        XCTAssertEqual(lock.tookOverFrom?.pid, helper.processIdentifier)
        XCTAssertEqual(lock.tookOverFrom?.host, hostName())
        let text = try String(contentsOfFile: dir + "/.lock", encoding: .utf8)
        XCTAssertTrue(text.contains("pid=\(getpid())\n") && text.contains("host=\(hostName())\n"), text)
        lock.release()
    }

    /// A lock still held while its file names a dead pid of this host (a leaked descriptor) is broken.
    func testHeldLockOfADeadPidOnThisHostIsBroken() throws {
        let dir = try makeDir()
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let path = dir + "/.lock"
        try "pid=\(dead.processIdentifier)\nhost=\(hostName())\nsince=2026-01-01T00:00:00Z\n".write(toFile: path, atomically: false, encoding: .utf8)
        let leaked = open(path, O_RDWR)
        XCTAssertEqual(flock(leaked, LOCK_EX | LOCK_NB), 0)
        defer { close(leaked) }
        let lock = try RunLock.acquire(directory: dir)
        XCTAssertEqual(lock.tookOverFrom?.pid, dead.processIdentifier)
        lock.release()
    }

    func testHeldLockOfALivePidIsRefused() throws {
        let dir = try makeDir(), path = dir + "/.lock"
        // A holder on another host cannot be checked from here: refused, naming it.
        try "pid=\(getpid())\nhost=some-other-node\nsince=\n".write(toFile: path, atomically: false, encoding: .utf8)
        let other = open(path, O_RDWR)
        XCTAssertEqual(flock(other, LOCK_EX | LOCK_NB), 0)
        defer { close(other) }
        XCTAssertThrowsError(try RunLock.acquire(directory: dir)) { error in
            XCTAssertEqual((error as? RunLockBusy)?.holder?.host, "some-other-node")
            XCTAssertTrue("\(error)".contains("pid \(getpid()) on host some-other-node"), "\(error)")
        }
    }

    func testNestedAcquisitionInOneProcess() throws {
        let dir = try makeDir()
        let outer = try RunLock.acquire(directory: dir)
        let inner = try RunLock.acquire(directory: dir + "/.")
        XCTAssertEqual(RunLock.holder(of: dir)?.pid, getpid())
        inner.release()
        XCTAssertEqual(RunLock.holder(of: dir)?.pid, getpid(), "the outer holder still holds it")
        outer.release()
        outer.release()  // idempotent
        XCTAssertNil(RunLock.holder(of: dir))
    }

    func testLockInAPlaceThatCannotHoldADirectoryNamesIt() throws {
        let dir = try makeDir()
        FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        XCTAssertThrowsError(try RunLock.acquire(directory: dir + "/file/run")) { error in
            XCTAssertEqual((error as? IOError)?.path, dir + "/file/run")
        }
    }

    func testHolderTextParsing() {
        XCTAssertEqual(RunLock.Holder(text: "pid=42\nhost=n1\nsince=t\n"), RunLock.Holder(pid: 42, host: "n1", since: "t"))
        XCTAssertNil(RunLock.Holder(text: ""))
        XCTAssertNil(RunLock.Holder(text: "pid=abc\nhost=n1\n"))
        XCTAssertNil(RunLock.Holder(text: "pid=-3\n"))
        XCTAssertEqual(RunLock.Holder(text: "pid=7")?.host, "?")
    }

    // MARK: temporaries of atomic writes

    func testAtomicWriteTemporariesAreUniquePerWriterAndStaleOnesRemoved() throws {
        let dir = try makeDir(), path = dir + "/config.json"
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let staleName = "config.json.\(hostName()).\(dead.processIdentifier).1.tmp"
        let liveName = "config.json.\(hostName()).\(getppid()).1.tmp"  // a live writer's: kept
        let otherHost = "config.json.other-node.\(dead.processIdentifier).1.tmp"  // cannot be checked: kept
        for name in [staleName, liveName, otherHost, "config.json.tmp"] {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("half".utf8))
        }
        try FileIO.writeAtomically(Data("{}".utf8), to: path)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertEqual(names, ["config.json", liveName, otherHost])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{}")
    }
}
