import Foundation
import ShearsIO

/// A sweep's own files, apart from the run directories (which belong to the commands):
///
///     <state>/points.jsonl            one point a line (JSON); a worker or a Slurm array task runs line i
///     <state>/logs/<run>.log          each point's stdout and stderr, every attempt appended
///     <state>/status/<run>.rc         the exit status of a point's last finished attempt
///     <state>/slurm/sweep.sbatch      the array script; slurm/%A_%a.out is Slurm's own output per task
///
/// `<run>` is the run directory's name and a hash of its full path (two runs roots may hold the same name).
/// On a cluster the state directory must be on the file system the nodes share, like the runs.
public struct SweepState: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
    }

    public var listPath: String { file("points.jsonl") }
    public var slurmDirectory: String { file("slurm") }
    public func logPath(_ p: SweepPoint) -> String { file("logs/\(Self.key(p)).log") }
    public func statusPath(_ p: SweepPoint) -> String { file("status/\(Self.key(p)).rc") }

    private func file(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    static func key(_ p: SweepPoint) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: only tells two runs roots apart, no security needed
        for b in p.directory.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return (p.directory as NSString).lastPathComponent + "-" + String(String(h, radix: 16).suffix(8))
    }

    /// Creates the state directory and writes the points list (point i on line i: a worker's index is its line).
    public func write(_ plan: SweepPlan) throws { try write(points: plan.points) }

    /// Creates the state directory and writes `points` (numbered 0, 1, 2, … in order) for workers to read.
    public func write(points: [SweepPoint]) throws {
        if let p = points.enumerated().first(where: { $0.offset != $0.element.index }) {
            throw SweepError(listPath, "point \(p.element.index) (\(p.element.label)) is at position \(p.offset): points must be numbered 0, 1, 2, … in order")
        }
        for sub in ["logs", "status", "slurm"] {
            do { try FileManager.default.createDirectory(atPath: file(sub), withIntermediateDirectories: true) } catch {
                throw SweepError(file(sub), "cannot create the sweep's state directory: \(error.localizedDescription)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for p in points { text += String(decoding: try encoder.encode(p), as: UTF8.self) + "\n" }
        let tmp = listPath + ".\(getpid()).tmp"
        do {
            try text.write(toFile: tmp, atomically: false, encoding: .utf8)
            if rename(tmp, listPath) != 0 { throw SweepError(listPath, "cannot rename \(tmp) over it") }
        } catch let e as SweepError { throw e } catch {
            throw SweepError(listPath, "cannot write the points list: \(error.localizedDescription)")
        }
    }

    /// The point on line `index` of the points list.
    public func point(at index: Int) throws -> SweepPoint {
        guard let data = FileManager.default.contents(atPath: listPath) else {
            throw SweepError(listPath, "no such file: run `shears sweep SPEC.yaml` first, which writes it")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard lines.indices.contains(index) else {
            throw SweepError(listPath, "has \(lines.count) points; there is no point \(index)")
        }
        do { return try JSONDecoder().decode(SweepPoint.self, from: Data(lines[index].utf8)) } catch {
            throw SweepError(listPath, "line \(index + 1) is not a sweep point: \(error)")
        }
    }

    // MARK: status

    public enum PointStatus: Equatable, Sendable {
        case done
        case running(RunLock.Holder)
        /// The exit status (nil: the attempt ended without one, e.g. killed) and the log's last line.
        case failed(exitStatus: Int32?, lastLine: String)
        case waiting

        public var word: String {
            switch self {
            case .done: return "done"
            case .running: return "running"
            case .failed: return "failed"
            case .waiting: return "waiting"
            }
        }
    }

    /// Done when its finish file exists; running while a process holds its run directory's lock; failed when
    /// its last attempt ended without finishing it; waiting when it never started (or is queued on Slurm).
    public func status(of p: SweepPoint) -> PointStatus {
        if p.isDone { return .done }
        if let holder = RunLock.holder(of: p.directory) { return .running(holder) }
        let rcText = (try? String(contentsOfFile: statusPath(p), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard rcText != nil || FileManager.default.fileExists(atPath: logPath(p)) else { return .waiting }
        return .failed(exitStatus: rcText.flatMap { Int32($0) }, lastLine: lastLine(of: logPath(p)))
    }

    /// The last non-empty line of a log other than the worker's own "=== exit status" ("" when there is none);
    /// reads only its last 8 KiB.
    public func lastLine(of path: String) -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? h.close() }
        let end = (try? h.seekToEnd()) ?? 0
        try? h.seek(toOffset: end > 8192 ? end - 8192 : 0)
        let text = String(decoding: (try? h.readToEnd()) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").last {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("=== exit status")
        }.map(String.init) ?? ""
    }

    /// Records the exit status of a point's attempt.
    public func recordExit(_ p: SweepPoint, status: Int32) throws {
        do { try "\(status)\n".write(toFile: statusPath(p), atomically: true, encoding: .utf8) } catch {
            throw SweepError(statusPath(p), "cannot record the exit status: \(error.localizedDescription)")
        }
    }
}
