import Foundation

/// An experiment's directory: its configuration and results as JSON, its metrics as JSON lines and CSV,
/// a timestamped log and its checkpoint. Every whole-file write is atomic (a temporary unique to the writer, then renamed), so a
/// killed run leaves each file either as it was or as it was meant to be.
public final class RunDirectory {
    public let url: URL
    private let lock = NSLock()
    /// The metrics.csv header as last read or written by this object (nil: not known yet).
    private var csvColumns: [String]?
    /// Whether this object has already repaired lines cut short by a killed process.
    private var tailsChecked = false

    public static let metricsJSONL = "metrics.jsonl"
    public static let metricsCSV = "metrics.csv"
    public static let logFile = "log.txt"
    public static let checkpointFile = "checkpoint.safetensors"

    /// Opens the directory at `path`, creating it and its parents if needed.
    public init(path: String) throws {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw IOError(path: url.path, "exists but is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw IOError(path: url.path, "cannot create the run directory: \(error.localizedDescription)")
        }
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// `url/checkpoint.safetensors`.
    public var checkpointPath: String { path(Self.checkpointFile) }

    public func fileExists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    // MARK: JSON

    private static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }

    private static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }

    /// Writes `value` as pretty-printed JSON with sorted keys to `name`, atomically. (Non-finite floats are
    /// written as the strings "NaN", "Infinity", "-Infinity" and read back by `readJSON`.)
    public func writeJSON<T: Encodable>(_ value: T, to name: String) throws {
        let p = path(name)
        var data: Data
        do { data = try Self.encoder().encode(value) } catch {
            throw IOError(path: p, "cannot encode \(T.self) as JSON: \(error)")
        }
        data.append(0x0A)
        try makeParent(of: p)
        try FileIO.writeAtomically(data, to: p)
    }

    /// Reads `name` as JSON into a `T`: nil if the file does not exist, an `IOError` if it is not valid JSON
    /// for `T` (naming the file, the offending key path and what was expected).
    public func readJSON<T: Decodable>(_ type: T.Type, from name: String) throws -> T? {
        let p = path(name)
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        let data = try FileIO.read(p)
        do {
            return try Self.decoder().decode(T.self, from: data)
        } catch let e as DecodingError {
            throw IOError(path: p, "not valid JSON for \(T.self): \(Self.describe(e))")
        } catch {
            throw IOError(path: p, "not valid JSON for \(T.self): \(error)")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func at(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "at the top level" : "at \(p.hasPrefix(".") ? String(p.dropFirst()) : p)"
        }
        func underlying(_ c: DecodingError.Context) -> String {
            c.underlyingError.map { " (\($0.localizedDescription))" } ?? ""
        }
        switch e {
        case .keyNotFound(let key, let c): return "missing key \"\(key.stringValue)\" \(at(c))"
        case .typeMismatch(let type, let c): return "expected \(type) \(at(c)): \(c.debugDescription)"
        case .valueNotFound(let type, let c): return "expected \(type) \(at(c)), found null"
        case .dataCorrupted(let c): return "\(c.debugDescription) \(at(c))\(underlying(c))"
        @unknown default: return "\(e)"
        }
    }

    private func makeParent(of p: String) throws {
        let parent = (p as NSString).deletingLastPathComponent
        guard parent != url.path, !FileManager.default.fileExists(atPath: parent) else { return }
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw IOError(path: parent, "cannot create directory: \(error.localizedDescription)")
        }
    }

    // MARK: metrics

    /// Appends one row to `metrics.jsonl` (one JSON object a line: step, epoch, then the row's keys sorted)
    /// and to `metrics.csv` (columns: step, epoch, then metric names sorted; the header is written once, and
    /// when a row brings names the header lacks, the CSV is rewritten atomically with the union of columns,
    /// earlier rows left empty in the new ones; a row lacking a column leaves it empty).
    /// Non-finite values are written as NaN/Infinity/-Infinity in JSON (Python's `json` convention) and
    /// nan/inf/-inf in CSV.
    public func appendMetrics(_ row: [String: Double], step: Int, epoch: Double) throws {
        lock.lock(); defer { lock.unlock() }
        let jsonlPath = path(Self.metricsJSONL), csvPath = path(Self.metricsCSV)
        for reserved in ["step", "epoch"] where row[reserved] != nil {
            throw IOError(path: jsonlPath, "metric name \"\(reserved)\" is reserved for the \(reserved) column")
        }
        if !tailsChecked {
            // A process killed mid-append may have left half a line: end it so the next row starts clean.
            for p in [jsonlPath, csvPath] where FileIO.endsWithoutNewline(p) { try FileIO.append(Data([0x0A]), to: p) }
            tailsChecked = true
        }

        let keys = row.keys.sorted()
        var fields = ["\"step\":\(step)", "\"epoch\":\(Self.jsonNumber(epoch))"]
        fields += keys.map { "\(jsonQuoted($0)):\(Self.jsonNumber(row[$0]!))" }
        try FileIO.append(Data(("{" + fields.joined(separator: ",") + "}\n").utf8), to: jsonlPath)

        var cells = row.mapValues(Self.csvNumber)
        cells["step"] = String(step)
        cells["epoch"] = Self.csvNumber(epoch)
        if csvColumns == nil { csvColumns = try readCSVHeader(csvPath) }
        guard let columns = csvColumns else {
            let header = ["step", "epoch"] + keys
            try FileIO.append(Data((Self.csvLine(header) + Self.csvLine(header.map { cells[$0] ?? "" })).utf8), to: csvPath)
            csvColumns = header
            return
        }
        let known = Set(columns)
        if keys.allSatisfy(known.contains) {
            try FileIO.append(Data(Self.csvLine(columns.map { cells[$0] ?? "" }).utf8), to: csvPath)
            return
        }
        // New metric names: rewrite the CSV with the union of columns.
        let text = String(decoding: try FileIO.read(csvPath), as: UTF8.self)
        var records = Self.parseCSV(text)
        let oldHeader = records.isEmpty ? columns : records.removeFirst()
        let others = Set(oldHeader).union(keys).subtracting(["step", "epoch"]).sorted()
        let newColumns = ["step", "epoch"] + others
        var out = Self.csvLine(newColumns)
        for r in records where !(r.count == 1 && r[0].isEmpty) {
            var byName: [String: String] = [:]
            for (i, name) in oldHeader.enumerated() where i < r.count { byName[name] = r[i] }
            out += Self.csvLine(newColumns.map { byName[$0] ?? "" })
        }
        out += Self.csvLine(newColumns.map { cells[$0] ?? "" })
        try FileIO.writeAtomically(Data(out.utf8), to: csvPath)
        csvColumns = newColumns
    }

    private func readCSVHeader(_ p: String) throws -> [String]? {
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        let text = String(decoding: try FileIO.read(p), as: UTF8.self)
        guard let header = Self.parseCSV(text, maxRecords: 1).first, header != [""] else { return nil }
        return header
    }

    static func jsonNumber(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
        return "\(x)"
    }

    static func csvNumber(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func csvLine(_ fields: [String]) -> String { fields.map(csvField).joined(separator: ",") + "\n" }

    /// RFC 4180 records (quoted fields may hold commas, doubled quotes and newlines).
    static func parseCSV(_ text: String, maxRecords: Int = .max) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return scalars.next()
        }
        while records.count < maxRecords, let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = n }
                    } else { inQuotes = false }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": inQuotes = true
            case ",": record.append(field); field = ""
            case "\r": break
            case "\n": record.append(field); field = ""; records.append(record); record = []
            default: field.unicodeScalars.append(c)
            }
        }
        if records.count < maxRecords, !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }

    // MARK: log

    /// Appends `line` to log.txt, prefixed with the UTC time (ISO 8601, milliseconds).
    public func log(_ line: String) throws {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        let text = "\(f.string(from: Date())) \(line)" + (line.hasSuffix("\n") ? "" : "\n")
        lock.lock(); defer { lock.unlock() }
        try FileIO.append(Data(text.utf8), to: path(Self.logFile))
    }
}

/// A directory name from the non-default hyperparameters: `prefix_HASH_k1=v1_k2=v2…`, where HASH is the first
/// 10 hex characters of the SHA-256 of the canonical list (`key=value` lines sorted by key, joined by "\n"),
/// so the same command finds the same directory on every run and machine, and the readable part shows up to
/// 4 of the keys (sorted; characters other than letters, digits and `.+-` become `-`, each part at most 24
/// characters; `_+N` says N more keys are only in the hash). With no non-default key it is `prefix_HASH`.
public func runDirectoryName(prefix: String, nonDefault: [String: String]) -> String {
    let keys = nonDefault.keys.sorted()
    let canonical = keys.map { "\($0)=\(nonDefault[$0]!)" }.joined(separator: "\n")
    var name = prefix + "_" + String(SHA256.hex(canonical).prefix(10))
    func readable(_ s: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-")
        let cleaned = String(s.map { allowed.contains($0) ? $0 : "-" })
        return cleaned.count > 24 ? String(cleaned.prefix(24)) : cleaned
    }
    for k in keys.prefix(4) { name += "_\(readable(k))=\(readable(nonDefault[k]!))" }
    if keys.count > 4 { name += "_+\(keys.count - 4)" }
    return name
}
