import ArgumentParser
import Foundation
import ShearsIO
import ShearsNN
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `shears export` writes: a state dict format, or an ONNX model.
enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
    case dense, bitmask, csr
    case compressedTensors = "compressed-tensors"
    case onnx

    var stateDict: StateDictFormat? { StateDictFormat(rawValue: rawValue) }
}

/// `shears export`: rewrite a state dict without its zeros (bitmask, CSR, compressed-tensors), write the model as
/// ONNX, or describe a state dict (`--info`).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a state dict dense, as bitmask + values, as CSR or as compressed-tensors, or the model as ONNX; --info describes one.",
        discussion: """
        shears export MODEL.safetensors --format dense|bitmask|csr|compressed-tensors --out FILE reads a state \
        dict in any of these formats (or a plain safetensors file, e.g. RUN/model.safetensors; or an ONNX \
        model's initializers, MODEL.onnx) and writes it in --format. Only zero elements are dropped; every tensor comes back bit-identical. For bitmask and csr, F32 \
        tensors whose encoding would be larger (biases, batch norm, dense layers) and non-F32 ones stay dense; \
        compressed-tensors compresses every F32 *.weight of rank ≥ 2 (the compressed-tensors package's \
        sparse-bitmask layout, which vLLM and Hugging Face load). One line per decision is printed, then the \
        dense and exported sizes and the global sparsity. Every Shears command that loads weights reads all \
        these formats (docs/export.md). \
        shears export MODEL.safetensors --model M --format onnx --out model.onnx writes the model M (a zoo name \
        or onnx:PATH) with those weights as an ONNX model (opset 17, batch size dynamic, PyTorch's initializer \
        names, zeros kept; docs/interop.md), for inputs --input-shape; the input normalisation goes to its \
        metadata from --mean/--std or the state dict's shears.mean/shears.std metadata. \
        shears export --info FILE prints a file's format, tensor count, sparsity and size.
        """)

    @Argument(help: "The state dict to export (a safetensors file such as RUN/model.safetensors), or with --info the file to describe.")
    var input: String
    @Option(help: "Output format.") var format: ExportFormat?
    @Option(help: "Output file (written atomically; never the input).") var out: String?
    @Flag(help: "Describe INPUT (format, tensors, sparsity, size) instead of exporting it.") var info = false
    @OptionGroup var onnx: ONNXExportFlags

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw ValidationError("\(input): no such file; expected a safetensors state dict (e.g. RUN/model.safetensors)")
        }
        guard !isDirectory.boolValue else {
            throw ValidationError("\(input) is a directory; expected a safetensors state dict (e.g. \(input)/model.safetensors)")
        }
        if info {
            guard format == nil, out == nil else {
                throw ValidationError("--info only describes \(input); drop --format/--out, or drop --info to export")
            }
            return
        }
        guard format != nil else { throw ValidationError("--format is required: one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard let out else { throw ValidationError("--out is required: the file to write") }
        guard !Self.sameFile(input, out) else {
            throw ValidationError("--out \(out) is the input file; exporting over the input is refused, choose another --out")
        }
        try onnx.validate(format: format!, input: input)
    }

    func run() throws {
        let lines: [String]
        if info {
            lines = try Self.describe(input)
        } else if let stateDict = format!.stateDict {
            lines = try Self.export(input, as: stateDict, to: out!)
        } else {
            lines = try onnx.export(input, to: out!)
        }
        for line in lines { print(line) }
    }

    /// Whether `a` and `b` name the same file: the same path once symlinks are resolved, or the same inode
    /// (a hard link).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        func canonical(_ p: String) -> String { URL(fileURLWithPath: p).resolvingSymlinksInPath().standardizedFileURL.path }
        if canonical(a) == canonical(b) { return true }
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Exports `input` to `out` in `format`; returns the lines to print (decisions, then sizes).
    static func export(_ input: String, as format: StateDictFormat, to out: String) throws -> [String] {
        let decoded = try readWeights(input)
        let (file, decisions) = try SparseStateDict.encode(decoded.tensors, metadata: decoded.metadata, as: format, path: out)
        var denseMeta = decoded.metadata
        denseMeta[SparseStateDict.formatKey] = StateDictFormat.dense.rawValue
        denseMeta[SparseStateDict.versionKey] = SparseStateDict.version
        let denseBytes = SafetensorsRawFile(tensors: decoded.tensors, metadata: denseMeta).encodedSize
        try file.write(path: out)
        let written = file.encodedSize

        var lines: [String] = []
        var groups: [(label: String, members: [SparseStateDict.Decision])] = []
        for d in decisions {
            let label = Self.label(d, format: format)
            if let i = groups.firstIndex(where: { $0.label == label }) { groups[i].members.append(d) } else { groups.append((label, [d])) }
        }
        for (label, members) in groups {
            let elements = members.reduce(0) { $0 + $1.count }
            let zeros = members.reduce(0) { $0 + $1.zeros }
            let names = members.prefix(4).map(\.name).joined(separator: ", ") + (members.count > 4 ? ", …" : "")
            var line = "\(label): \(members.count) tensor\(members.count == 1 ? "" : "s") (\(names)), \(grouped(elements)) element\(elements == 1 ? "" : "s")"
            if members.allSatisfy({ $0.dtype == .F32 }) {
                line += String(format: ", %.1f%% zeros", elements == 0 ? 0 : 100 * Double(zeros) / Double(elements))
            }
            if format != .dense, label == format.rawValue {
                line += ", \(grouped(members.reduce(0) { $0 + $1.denseBytes })) → \(grouped(members.reduce(0) { $0 + $1.encodedBytes })) bytes"
            }
            lines.append(line)
        }
        let floats = decisions.filter { $0.dtype == .F32 }
        let floatCount = floats.reduce(0) { $0 + $1.count }
        let zeroCount = decoded.tensors.values.filter { $0.dtype == .F32 }.reduce(0) { $0 + zeroElements($1) }
        lines.append("dense \(grouped(denseBytes)) bytes, \(format.rawValue) \(grouped(written)) bytes "
                     + String(format: "(%.1f%% of dense), global sparsity %.1f%% ", 100 * Double(written) / Double(max(denseBytes, 1)),
                              floatCount == 0 ? 0 : 100 * Double(zeroCount) / Double(floatCount))
                     + "(zeros among \(grouped(floatCount)) float elements); wrote \(out)")
        return lines
    }

    /// The tensors and metadata of `input`: a state dict in any format, or an ONNX model's initializers (its
    /// parameters and batch-norm statistics under their names, with its `shears.*` metadata_props).
    static func readWeights(_ input: String) throws -> (tensors: [String: RawTensor], metadata: [String: String]) {
        guard input.hasSuffix(".onnx") else {
            let (decoded, _) = try SparseStateDict.read(path: input)
            return (decoded.tensors, decoded.metadata)
        }
        let graph = try GraphModel(contentsOf: input)
        var tensors: [String: RawTensor] = [:]
        for (name, v) in graph.stateDict { tensors[name] = try RawTensor(v.value, name: name, path: input) }
        return (tensors, graph.metadata.filter { $0.key.hasPrefix("shears.") }.merging(["format": "pt"]) { a, _ in a })
    }

    /// The group a decision is reported in: the format, or why the tensor stayed dense.
    static func label(_ d: SparseStateDict.Decision, format: StateDictFormat) -> String {
        if d.encoding != .dense { return d.encoding.rawValue }
        if format == .dense { return "dense" }
        if format == .compressedTensors {
            if d.dtype != .F32 || d.shape.count < 2 { return "dense (only F32 weights of rank ≥ 2 are compressed)" }
            if !d.name.hasSuffix(".weight") { return "dense (only *.weight tensors are compressed)" }
            return "dense (holds -0.0, which compressed-tensors would restore as +0.0)"
        }
        if d.dtype != .F32 { return "dense (\(d.dtype.rawValue), only F32 is encoded)" }
        if d.shape.isEmpty || d.count == 0 { return "dense (scalar or empty)" }
        return "dense (\(format.rawValue) would be larger)"
    }

    /// Elements that are zero of either sign in an F32 tensor.
    static func zeroElements(_ t: RawTensor) -> Int { t.float32Bits.reduce(0) { $0 + ($1 & 0x7FFF_FFFF == 0 ? 1 : 0) } }

    /// The lines `--info` prints for `path`.
    static func describe(_ path: String) throws -> [String] {
        let (decoded, info) = try SparseStateDict.read(path: path)
        let kind = info.declared ? "\(info.format.rawValue) (\(SparseStateDict.formatKey) version \(SparseStateDict.version))"
                                 : "dense (plain safetensors, no \(SparseStateDict.formatKey))"
        var lines = ["\(path): \(kind)"]
        lines.append("tensors: \(info.tensorCount) (\(info.encodedCount) stored as \(info.format == .dense ? "bitmask or csr" : info.format.rawValue), "
                     + "\(info.tensorCount - info.encodedCount) dense)")
        let dtypes = Dictionary(grouping: decoded.tensors.values, by: \.dtype).map { "\($0.key.rawValue) ×\($0.value.count)" }.sorted()
        lines.append("dtypes: " + dtypes.joined(separator: ", "))
        lines.append(String(format: "sparsity: %.2f%%", 100 * info.sparsity)
                     + " (\(grouped(info.zeroElements)) zeros among \(grouped(info.floatElements)) float elements)")
        lines.append("size: \(grouped(info.fileBytes)) bytes" + (info.format == .dense ? " (dense)"
                     : String(format: ", %.1f%% of the dense ", 100 * info.sizeRatio) + "\(grouped(info.denseBytes)) bytes"))
        return lines
    }
}

/// 1234567 → "1,234,567".
private func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}
