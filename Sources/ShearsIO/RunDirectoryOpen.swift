import Foundation

/// What `RunDirectory.open` found: a new run, one to continue, or a finished one with its summary.
public enum RunState<Summary> {
    /// No run yet: `config.json` has just been written.
    case fresh
    /// `config.json` matches; the run may have a checkpoint to continue from.
    case resumable
    /// The run finished: its summary, read back.
    case finished(Summary)
}

public struct ConfigurationMismatch: Error, CustomStringConvertible {
    public let directory: String
    /// `field: saved → requested`, one per differing field (dotted paths into nested configs).
    public let differences: [String]
    public var description: String {
        "run directory \(directory) holds a run with a different configuration ("
            + differences.joined(separator: "; ")
            + "); choose another --out, or delete the directory to start over"
    }
}

extension RunDirectory {
    /// The one run-directory prologue of every command that trains: writes `config.json` on first use; refuses a
    /// different configuration naming the fields that differ; reports a finished run (its `summaryFile` decodes as
    /// `Summary`). `Config` must encode the same way it decodes (the JSON is compared field by field).
    public func open<Config: Codable & Equatable, Summary: Decodable>(
        config: Config, configFile: String = "config.json", summaryFile: String, summary: Summary.Type
    ) throws -> RunState<Summary> {
        if let saved = try readJSON(Config.self, from: configFile) {
            guard saved == config else {
                throw ConfigurationMismatch(directory: url.path, differences: try Self.differences(saved, config))
            }
            if let done = try readJSON(Summary.self, from: summaryFile) { return .finished(done) }
            return .resumable
        }
        try writeJSON(config, to: configFile)
        return .fresh
    }

    /// The fields in which two encodings differ, as `path: a → b` (sorted by path).
    public static func differences<T: Encodable>(_ a: T, _ b: T) throws -> [String] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let x = try JSONSerialization.jsonObject(with: e.encode(a), options: [.fragmentsAllowed])
        let y = try JSONSerialization.jsonObject(with: e.encode(b), options: [.fragmentsAllowed])
        var out: [String] = []
        diff(x, y, path: "", into: &out)
        return out.isEmpty ? ["the encodings agree but the values differ"] : out
    }

    static func diff(_ a: Any?, _ b: Any?, path: String, into out: inout [String]) {
        if let da = a as? [String: Any], let db = b as? [String: Any] {
            for k in Set(da.keys).union(db.keys).sorted() {
                diff(da[k], db[k], path: path.isEmpty ? k : "\(path).\(k)", into: &out)
            }
            return
        }
        let ta = text(a), tb = text(b)
        if ta != tb { out.append("\(path.isEmpty ? "value" : path): \(ta) in the directory, \(tb) now") }
    }

    static func text(_ v: Any?) -> String {
        guard let v, !(v is NSNull) else { return "unset" }
        if let s = v as? String { return s }
        if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: d, as: UTF8.self)
        }
        return "\(v)"
    }
}
