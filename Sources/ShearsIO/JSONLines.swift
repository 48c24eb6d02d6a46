import Foundation

/// The one reader of Shears' JSON-lines files (`metrics.jsonl`, `cycles.jsonl`, `megabatches.jsonl`, `trials.jsonl`):
/// every line is one JSON object, read as a row of numbers or decoded as a `Decodable` record.
///
/// - Non-finite numbers survive: `RunDirectory.appendMetrics` writes them as the bare tokens `NaN`, `Infinity` and
///   `-Infinity` (Python's `json` convention), the records' `JSONEncoder`s as the strings "NaN", "Infinity",
///   "-Infinity"; both are read back as the non-finite `Double`, so that a diverged run shows as diverged.
/// - A line that is not what is expected is an `IOError` naming the file and the line number, never dropped.
/// - One exception: a last line that does not end in a newline and does not parse is the half-written row of a
///   killed writer (every writer appends whole lines ending in "\n"). It is left out and its number reported in
///   `partialLastLine`; the resumed run ends and trims such a line itself (`RunDirectory.appendMetrics`,
///   `Trainer.truncateMetrics`). A last line without a newline that parses is kept.
/// - Blank lines are skipped.
/// `read`/`numericRows`/`write`/`append` are the protocols' calls (a missing file reads as no lines); `rows`/`records`
/// also tell the line numbers and a cut-short last line.
public enum JSONLines {
    /// What to do when the file does not exist.
    public enum Missing: Sendable { case fail, empty }

    /// The elements of one file in file order, each with its 1-based line number.
    public struct Content<Element> {
        public var elements: [Element]
        public var lineNumbers: [Int]
        /// The number of a cut-short last line that was left out (see `JSONLines`), nil when there was none.
        public var partialLastLine: Int?
    }

    /// Every line's numeric members (numbers, the non-finite tokens, and strings that spell a number: "NaN",
    /// "Infinity", "-Infinity", "nan", "inf", "0.5"); other members (text, booleans, arrays) are left out of the row.
    /// A line that is not a JSON object is an error.
    public static func rows(_ path: String, ifMissing: Missing = .fail) throws -> Content<[String: Double]> {
        try read(path, ifMissing: ifMissing) { value, _ in
            guard case .object(let members) = value else { throw LineError("expected a JSON object, found \(value.kind)") }
            var row: [String: Double] = [:]
            for (key, v) in members {
                switch v {
                case .number(let s): row[key] = Double(s)
                case .string(let s): if let x = number(s) { row[key] = x }
                default: break
                }
            }
            return row
        }
    }

    /// Every line decoded as a `T` (non-finite floats from either spelling).
    public static func records<T: Decodable>(_ type: T.Type, _ path: String, ifMissing: Missing = .fail) throws -> Content<T> {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try read(path, ifMissing: ifMissing) { value, _ in
            do { return try decoder.decode(T.self, from: Data(value.decodableText.utf8)) } catch let e as DecodingError {
                throw LineError("not a \(T.self): \(RunDirectory.describe(e))")
            }
        }
    }

    // MARK: the protocols' calls (records read and written whole; a missing file reads as no lines)

    /// Each line decoded as `T`; a missing file reads as no lines.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> [T] {
        try records(T.self, path, ifMissing: .empty).elements
    }

    /// Each line's numeric fields (see `rows`); a missing file reads as no lines.
    public static func numericRows(from path: String) throws -> [[String: Double]] {
        try rows(path, ifMissing: .empty).elements
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }

    /// Writes `records` one per line with sorted keys, atomically.
    public static func write<T: Encodable>(_ records: [T], to path: String) throws {
        let e = encoder()
        let text = try records.map { String(decoding: try e.encode($0), as: UTF8.self) + "\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Appends one record as a line (the whole file is rewritten atomically, so a kill leaves the old or the new one).
    public static func append<T: Encodable>(_ record: T, to path: String) throws {
        let old = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        try (old + String(decoding: try encoder().encode(record), as: UTF8.self) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// A number spelled as text: the non-finite spellings of JSON writers and Python, or a decimal.
    static func number(_ s: String) -> Double? {
        switch s {
        case "NaN", "nan": return .nan
        case "Infinity", "inf": return .infinity
        case "-Infinity", "-inf": return -.infinity
        default: return Double(s)
        }
    }

    /// A line that parsed as JSON but is not what the caller expects.
    struct LineError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// Splits the file into lines, parses each (non-finite tokens allowed) and hands it to `convert`; errors name
    /// the file and the line.
    static func read<Element>(_ path: String, ifMissing: Missing,
                              _ convert: (JSONValue, Int) throws -> Element) throws -> Content<Element> {
        var content = Content<Element>(elements: [], lineNumbers: [], partialLastLine: nil)
        if ifMissing == .empty, !FileManager.default.fileExists(atPath: path) { return content }
        let bytes = [UInt8](try FileIO.read(path))
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        // The text after the last "\n" (empty when the file ends in one).
        let unterminated = lines.count - 1
        for (index, line) in lines.enumerated() {
            let number = index + 1
            guard line.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
            let value: JSONValue
            do { value = try JSONParser.parse(Array(line), allowNonFinite: true) } catch let e as JSONParseError {
                if index == unterminated { content.partialLastLine = number; break }
                throw IOError(path: path, "line \(number) is not valid JSON: \(e.message) at column \(e.offset + 1)")
            }
            do { content.elements.append(try convert(value, number)) } catch let e as LineError {
                throw IOError(path: path, "line \(number): \(e.message)")
            }
            content.lineNumbers.append(number)
        }
        return content
    }
}
