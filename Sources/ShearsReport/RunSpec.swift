import Foundation

/// A run directory as given on the command line: `DIR`, named by its last path component, or `NAME=DIR`, named NAME
/// (what legends and table columns show: default run names are long hashes of the flags). A spec that is itself an
/// existing path is always a directory, so that a default name such as `prune_f3c1_cycles=10` is never split at its
/// `=`; otherwise the text before the first `=` is a name when it holds no `/`.
public struct RunSpec: Equatable, Sendable {
    public var name: String
    public var path: String
    /// Whether the name was given (NAME=DIR).
    public var labelled: Bool

    public init(parsing spec: String) {
        if !FileManager.default.fileExists(atPath: spec), let eq = spec.firstIndex(of: "="), eq != spec.startIndex,
           !spec[..<eq].contains("/") {
            name = String(spec[..<eq]); path = String(spec[spec.index(after: eq)...]); labelled = true
        } else {
            name = (spec as NSString).lastPathComponent; path = spec; labelled = false
        }
    }
}
