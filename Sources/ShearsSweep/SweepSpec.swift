import Foundation
import Yams

/// A sweep as written in SPEC.yaml: one base command and axes of flag values.
///
/// ```yaml
/// name: lenet-lr            # optional; names the sweep's state directory (default: the file's name)
/// command: train --model lenet300-100 --epochs 1 --train-subset 2000
/// axes:                     # every combination is one point; the first axis varies slowest
///   seed: [0, 1]            # → --seed 0, --seed 1
///   lr: [0.05, 0.1]
///   augment: [null, ""]     # null: flag left out; "": the switch alone (--augment)
///   schedule:               # a value may set several flags at once
///     - {lr-schedule: scyc, l-min: 0.03}
///     - {lr-schedule: cosine}
/// ```
public struct SweepSpec: Equatable, Sendable {
    /// One axis: the flags one of its values adds to the base command.
    public struct Axis: Equatable, Sendable {
        /// The key as written (`lr`, `schedule`).
        public var name: String
        /// Per value: its label (`0.05`, `lr-schedule=scyc,l-min=0.03`) and the arguments it adds.
        public var values: [(label: String, arguments: [String])]

        public init(name: String, values: [(label: String, arguments: [String])]) {
            self.name = name
            self.values = values
        }

        public static func == (a: Axis, b: Axis) -> Bool {
            a.name == b.name && a.values.map(\.label) == b.values.map(\.label)
                && a.values.map(\.arguments) == b.values.map(\.arguments)
        }
    }

    public var name: String
    /// The base command's arguments, without a leading `shears`.
    public var command: [String]
    public var axes: [Axis]

    public static let keys = ["name", "command", "axes"]

    public init(name: String, command: [String], axes: [Axis]) {
        self.name = name
        self.command = command
        self.axes = axes
    }

    /// Reads and validates SPEC.yaml; every problem is a `SweepError` naming the file (and the line, where the
    /// YAML parser gives one).
    public static func read(path: String) throws -> SweepSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SweepError(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        let text = String(decoding: data, as: UTF8.self)
        let defaultName = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try parse(text, file: path, defaultName: defaultName)
    }

    /// Parses a spec's YAML text; `file` only names it in errors.
    public static func parse(_ text: String, file: String, defaultName: String) throws -> SweepSpec {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw SweepError(file, "is not valid YAML: \(error)")
        }
        guard let mapping = root?.mapping else {
            throw SweepError(file, "expected a mapping with the keys command and axes at the top level")
        }
        var fields: [String: Node] = [:]
        for (key, value) in mapping {
            guard let k = key.scalar?.string, keys.contains(k) else {
                throw SweepError(file, "unknown key '\(key.string ?? "?")'\(at(key)); a spec has the keys \(keys.joined(separator: ", "))")
            }
            fields[k] = value
        }
        guard let commandNode = fields["command"] else { throw SweepError(file, "missing key 'command' (the base command, e.g. train --model lenet300-100)") }
        guard let axesNode = fields["axes"] else { throw SweepError(file, "missing key 'axes' (a mapping of flag → list of values)") }
        let command = try parseCommand(commandNode, file: file)
        let axes = try parseAxes(axesNode, file: file)
        var name = defaultName
        if let n = fields["name"] {
            guard let s = n.scalar?.string, !s.isEmpty, !s.contains("/") else {
                throw SweepError(file, "'name'\(at(n)) must be a non-empty word without '/'")
            }
            name = s
        }
        return SweepSpec(name: name, command: command, axes: axes)
    }

    static func at(_ node: Node) -> String { node.mark.map { " (line \($0.line))" } ?? "" }

    private static func parseCommand(_ node: Node, file: String) throws -> [String] {
        var words: [String]
        if let s = node.scalar?.string {
            words = try splitCommandLine(s, file: file)
        } else if let seq = node.sequence {
            words = try seq.map { item in
                guard let w = item.scalar?.string else { throw SweepError(file, "'command'\(at(item)): every item must be a word") }
                return w
            }
        } else {
            throw SweepError(file, "'command'\(at(node)) must be a string (or a list of words)")
        }
        if words.first == "shears" { words.removeFirst() }
        guard let first = words.first, !first.hasPrefix("-") else {
            throw SweepError(file, "'command'\(at(node)) must start with a subcommand (train, prune iterative, …)")
        }
        return words
    }

    private static func parseAxes(_ node: Node, file: String) throws -> [Axis] {
        guard let mapping = node.mapping else {
            throw SweepError(file, "'axes'\(at(node)) must be a mapping of flag → list of values, e.g. seed: [0, 1]")
        }
        guard mapping.count > 0 else { throw SweepError(file, "'axes'\(at(node)) is empty: give at least one axis") }
        var axes: [Axis] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string, !name.isEmpty else { throw SweepError(file, "an axis name\(at(key)) must be a word") }
            guard let seq = value.sequence else {
                throw SweepError(file, "axis '\(name)'\(at(value)) must be a list of values, e.g. \(name): [a, b]")
            }
            guard seq.count > 0 else { throw SweepError(file, "axis '\(name)'\(at(value)) is empty: give at least one value") }
            let values = try seq.map { try axisValue(axis: name, $0, file: file) }
            if let dup = duplicate(values.map(\.label)) {
                throw SweepError(file, "axis '\(name)'\(at(value)) lists the value '\(dup)' twice")
            }
            axes.append(Axis(name: name, values: values))
        }
        return axes
    }

    /// A scalar is one flag value; a mapping sets several flags; `""` adds the flag alone (a switch such as
    /// --augment) and `null` leaves it out (the command's default).
    private static func axisValue(axis: String, _ node: Node, file: String) throws -> (label: String, arguments: [String]) {
        if let s = node.scalar?.string {
            if node.tag == Tag(.null) { return ("default", []) }
            return (s.isEmpty ? "on" : s, flagArguments(axis, s))
        }
        guard let m = node.mapping, m.count > 0 else {
            throw SweepError(file, "axis '\(axis)'\(at(node)): a value must be a scalar or a mapping of flag → value")
        }
        var labels: [String] = [], arguments: [String] = []
        for (k, v) in m {
            guard let flag = k.scalar?.string, let value = v.scalar?.string else {
                throw SweepError(file, "axis '\(axis)'\(at(v)): a value's mapping must hold flag: scalar pairs")
            }
            labels.append(value.isEmpty ? flag : "\(flag)=\(value)")
            arguments += flagArguments(flag, value)
        }
        return (labels.joined(separator: ","), arguments)
    }

    static func flagArguments(_ key: String, _ value: String) -> [String] {
        let flag = key.hasPrefix("-") ? key : "--" + key
        return value.isEmpty ? [flag] : [flag, value]
    }

    static func duplicate(_ items: [String]) -> String? {
        var seen = Set<String>()
        return items.first { !seen.insert($0).inserted }
    }
}

/// Splits a command line into words as a POSIX shell would for plain words, 'single' and "double" quotes and
/// backslash escapes (no variables, globs or substitutions: a spec is not a script).
public func splitCommandLine(_ line: String, file: String = "command") throws -> [String] {
    var words: [String] = [], word = "", inWord = false
    var quote: Character? = nil, escaped = false
    for c in line {
        if escaped { word.append(c); escaped = false; inWord = true; continue }
        if let q = quote {
            if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { word.append(c) }
            continue
        }
        switch c {
        case "'", "\"": quote = c; inWord = true
        case "\\": escaped = true
        case " ", "\t", "\n":
            if inWord { words.append(word); word = ""; inWord = false }
        default: word.append(c); inWord = true
        }
    }
    if quote != nil || escaped { throw SweepError(file, "unterminated quote or escape in the command: \(line)") }
    if inWord { words.append(word) }
    return words
}

/// A problem with a sweep (its spec, its points or its state), naming the file concerned.
public struct SweepError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
