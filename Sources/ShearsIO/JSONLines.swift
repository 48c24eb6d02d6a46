import Foundation

/// JSON Lines files (`metrics.jsonl`, `cycles.jsonl`, `megabatches.jsonl`, `trials.jsonl`): one JSON object per line.
/// Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity" (and the bare tokens Python's `json`
/// writes are read too), so a diverged run reads back as diverged. An unreadable line is an error naming the file
/// and the line number — never silently dropped.
public enum JSONLines {
    public struct ReadError: Error, CustomStringConvertible {
        public let path: String
        public let line: Int
        public let reason: String
        public var description: String { "\(path):\(line): \(reason)" }
    }

    /// Each line decoded as `T`; a missing file reads as no lines.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> [T] {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try lines(path).map { n, text in
            do { return try d.decode(T.self, from: Data(quotingBareNonFinite(text).utf8)) } catch let e as DecodingError {
                throw ReadError(path: path, line: n, reason: "not a \(T.self): \(RunDirectory.describe(e))")
            } catch { throw ReadError(path: path, line: n, reason: "not JSON: \(error)") }
        }
    }

    /// Each line's numeric fields (strings "NaN"/"Infinity"/"-Infinity" and numeric strings as numbers); other
    /// fields are left out. A line that is not a JSON object is an error naming the file and line.
    public static func numericRows(from path: String) throws -> [[String: Double]] {
        try lines(path).map { n, text in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(quotingBareNonFinite(text).utf8)) as? [String: Any] else {
                throw ReadError(path: path, line: n, reason: "not a JSON object: \(text.prefix(80))")
            }
            var row: [String: Double] = [:]
            for (k, v) in obj {
                if let b = v as? NSNumber { row[k] = b.doubleValue } else if let s = v as? String, let x = number(s) { row[k] = x }
            }
            return row
        }
    }

    /// Writes `records` one per line with sorted keys, atomically.
    public static func write<T: Encodable>(_ records: [T], to path: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let text = try records.map { String(decoding: try e.encode($0), as: UTF8.self) + "\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Appends one record as a line (the whole file is rewritten atomically, so a kill leaves the old or the new one).
    public static func append<T: Encodable>(_ record: T, to path: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let old = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        try (old + String(decoding: try e.encode(record), as: UTF8.self) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func number(_ s: String) -> Double? {
        switch s {
        case "NaN", "nan": return .nan
        case "Infinity", "inf": return .infinity
        case "-Infinity", "-inf": return -.infinity
        default: return Double(s)
        }
    }

    /// The non-empty lines with their 1-based numbers; a missing file has none.
    static func lines(_ path: String) throws -> [(Int, String)] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ReadError(path: path, line: 0, reason: "unreadable: \(error.localizedDescription)")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .compactMap { i, l in l.trimmingCharacters(in: .whitespaces).isEmpty ? nil : (i + 1, String(l)) }
    }

    /// Python's `json` writes bare NaN / Infinity / -Infinity tokens; quote them outside strings so that Foundation
    /// reads them (as the strings the decoders map back to numbers).
    static func quotingBareNonFinite(_ line: String) -> String {
        guard line.contains("NaN") || line.contains("Infinity") else { return line }
        var out = "", inString = false, escaped = false
        let chars = Array(line)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if inString {
                out.append(c)
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                i += 1; continue
            }
            if c == "\"" { inString = true; out.append(c); i += 1; continue }
            var matched = false
            for token in ["-Infinity", "Infinity", "NaN"] where chars[i...].starts(with: token) {
                out += "\"\(token)\""; i += token.count; matched = true; break
            }
            if !matched { out.append(c); i += 1 }
        }
        return out
    }
}
