import Foundation

/// Reading whole data files into memory, transparently gunzipping `.gz` ones.
///
/// The datasets Shears reads are at most a few hundred MB uncompressed, so whole-file reads are simpler and
/// faster than streaming, and they let each format reader check the exact file size against its header
/// before touching a pixel (which is how truncation is caught).
enum FileBytes {
    /// The first of `candidates` (full paths) that exists as a regular file, or nil.
    static func firstExisting(_ candidates: [String]) -> String? {
        var isDirectory: ObjCBool = false
        return candidates.first {
            FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    /// The bytes of `path`; when its name ends in `.gz` they are gunzipped first (a `.gz` file that is not
    /// gzip data is an error, not read raw: a mislabelled file usually means a broken download).
    static func read(_ path: String) throws -> [UInt8] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw DataError("\(path): cannot read file: expected a readable file, found: \(error.localizedDescription)")
        }
        if path.hasSuffix(".gz") { return try Gzip.decompress(data, file: path) }
        return [UInt8](data)
    }
}
