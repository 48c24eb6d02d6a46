import ArgumentParser
import Foundation
import ShearsIO
import ShearsNN
import ShearsTensor

/// The flags of `shears export --format onnx`: which model the state dict belongs to and what it takes.
struct ONNXExportFlags: ParsableArguments {
    @Option(help: "With --format onnx: the model the state dict belongs to (a zoo name or onnx:PATH).")
    var model: ModelName?
    @Option(name: .customLong("input-shape"), help: "With --format onnx: the input C,H,W (default 1,28,28 for the MLPs, 3,32,32 otherwise; an onnx:PATH model's own).")
    var inputShape: String?
    @Option(help: "With --format onnx: the number of classes (default: the rows of the state dict's last layer weight).")
    var classes: Int?
    @Option(help: "With --format onnx: per-channel input mean, comma-separated (default: the state dict's shears.mean metadata).")
    var mean: String?
    @Option(help: "With --format onnx: per-channel input std, comma-separated (default: the state dict's shears.std metadata).")
    var std: String?

    /// --model, or for an ONNX input the graph itself (`onnx:INPUT`).
    func resolvedModel(input: String) -> ModelName? { model ?? (input.hasSuffix(".onnx") ? ModelName(onnxPath: input) : nil) }

    func validate(format: ExportFormat, input: String) throws {
        guard format == .onnx else {
            let given = [("--model", model != nil), ("--input-shape", inputShape != nil), ("--classes", classes != nil),
                         ("--mean", mean != nil), ("--std", std != nil)].filter(\.1).map(\.0)
            if !given.isEmpty { throw ValidationError("\(given.joined(separator: ", ")) only apply to --format onnx") }
            return
        }
        guard let model = resolvedModel(input: input) else {
            throw ValidationError("--format onnx needs --model: the model the state dict belongs to (e.g. resnet20)")
        }
        let shape = try parsedInputShape(model)
        if let classes, classes < 1 { throw ValidationError("--classes must be at least 1, got \(classes)") }
        for (flag, text) in [("--mean", mean), ("--std", std)] {
            if let text { _ = try Self.channelValues(text, flag: flag, channels: shape?.first, positive: flag == "--std") }
        }
    }

    /// --input-shape, or the zoo default; nil for an onnx:PATH model without the flag (the file's own shape).
    func parsedInputShape(_ model: ModelName) throws -> [Int]? {
        guard let inputShape else {
            if model.onnxPath != nil { return nil }
            return [.lenet300100, .mlp3x256].contains(model) ? [1, 28, 28] : [3, 32, 32]
        }
        let dims = inputShape.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dims.count == 3, dims.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 1 << 16 }) else {
            throw ValidationError("--input-shape \(inputShape): expected C,H,W as three positive integers, e.g. 3,32,32")
        }
        return dims.map { $0! }
    }

    /// Comma-separated finite floats, one per channel (or one for all); std values must be positive.
    static func channelValues(_ text: String, flag: String, channels: Int?, positive: Bool) throws -> [Float] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite && (!positive || $0! > 0) }) else {
            throw ValidationError("\(flag) \(text): expected comma-separated finite numbers\(positive ? " above 0" : ""), e.g. 0.4914,0.4822,0.4465")
        }
        if let channels, values.count != channels, values.count != 1 {
            throw ValidationError("\(flag) \(text): \(values.count) values for \(channels) input channels; expected \(channels) (or 1)")
        }
        return values.map { $0! }
    }

    /// Writes `input`'s weights in model `--model` as ONNX to `out`; returns the lines to print.
    func export(_ input: String, to out: String) throws -> [String] {
        let name = resolvedModel(input: input)!
        let weights = try Export.readWeights(input)
        let decoded = (tensors: weights.tensors, metadata: weights.metadata)
        let file = SafetensorsRawFile(tensors: weights.tensors, metadata: weights.metadata.filter { !SparseStateDict.isLayoutKey($0.key) }).floatFile
        let widths = try weights.metadata[ModelWidthsMetadata.key].map { try ModelWidthsMetadata.decode($0, source: input) } ?? [:]
        let net = try build(name, file: file, widths: widths, source: input)
        try loadStateDict(net.model, from: file, source: input)
        let floats = weights.tensors.values.filter { $0.dtype == .F32 }
        let zeros = floats.reduce(0) { $0 + $1.float32Bits.filter { $0 & 0x7FFF_FFFF == 0 }.count }
        let sparsity = Double(zeros) / Double(max(1, floats.reduce(0) { $0 + $1.count }))
        var metadata = ["shears.model": name.rawValue, "shears.source": URL(fileURLWithPath: input).lastPathComponent]
        for (flag, key, text) in [("--mean", ONNXExport.meanKey, mean), ("--std", ONNXExport.stdKey, std)] {
            guard let text = text ?? decoded.metadata[key] else { continue }
            let values = try Self.channelValues(text, flag: text == mean || text == std ? flag : "\(input): metadata \(key)",
                                                channels: net.inputShape[0], positive: key == ONNXExport.stdKey)
            metadata[key] = values.map { "\($0)" }.joined(separator: ",")
        }
        let proto = try ONNXExport.model(net.model, inputShape: net.inputShape, classes: net.classes, metadata: metadata)
        try ONNXExport.write(proto, to: out)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        return ["\(name.rawValue): \(proto.graph.node.count) nodes, \(proto.graph.initializer.count) initializers, "
                + "input [batch, \(net.inputShape.map(String.init).joined(separator: ", "))], output [batch, \(net.classes)], "
                + "opset \(ONNXExport.opset)" + (metadata[ONNXExport.meanKey] == nil ? ", no normalisation recorded" : ", normalisation in metadata_props"),
                String(format: "sparsity %.1f%% kept as zeros; ", 100 * sparsity) + "\(bytes) bytes; wrote \(out)"]
    }

    /// The model with its input shape and class count: from the flags, the state dict (classes) or the ONNX file.
    /// The model the state dict fills: the ONNX graph, or the zoo model at the file's recorded widths (a compacted one).
    func build(_ name: ModelName, file: SafetensorsFile, widths: [String: Int], source: String) throws -> (model: any Layer, inputShape: [Int], classes: Int) {
        if let path = name.onnxPath {
            let graph = try GraphModel(contentsOf: path, inputShape: try parsedInputShape(name))
            guard graph.outputShape.count == 1, classes == nil || classes == graph.outputShape[0] else {
                throw ValidationError("onnx:\(path) outputs [batch, \(graph.outputShape.map(String.init).joined(separator: ", "))]"
                    + (classes.map { ", not --classes \($0)" } ?? "; expected [batch, classes]"))
            }
            return (graph, graph.inputShape, graph.outputShape[0])
        }
        let shape = try parsedInputShape(name)!
        var g = Generator(seed: 0)   // every weight is replaced by the state dict's
        var net = try makeModel(name, inputShape: shape, classes: classes ?? 10, widths: widths, source: source, generator: &g)
        var k = classes ?? 10
        if classes == nil, let last = net.namedParameters.last(where: { $0.0.hasSuffix("weight") && $0.1.shape.count == 2 }),
           let rows = file.tensors[last.0]?.shape.first, rows != k {
            k = rows
            net = try makeModel(name, inputShape: shape, classes: k, widths: widths, source: source, generator: &g)
        }
        return (net, shape, k)
    }
}
