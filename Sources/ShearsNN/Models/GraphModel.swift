import Foundation
import ONNXProto
import SwiftProtobuf
import ShearsTensor

/// A model read from an ONNX file (`--model onnx:PATH`): the graph's nodes run in order on Shears' ops, so it
/// trains (every op has a backward), prunes and exports like a zoo model.
///
/// - **Parameters** are the graph's float initializers under their ONNX names — PyTorch's state-dict names
///   (`layer1.0.conv1.weight`) when `torch.onnx.export` wrote the file — in the file's order; the running mean
///   and variance of every BatchNormalization are buffers. Integer initializers and `Constant` nodes (Reshape
///   targets) are constants, not state.
/// - **Ops** (`GraphModel.supportedOps`): Conv (groups, strides, dilations, symmetric pads), Gemm, MatMul, Add,
///   Mul (both with broadcasting), Relu, LeakyRelu, Sigmoid, BatchNormalization (training on batch statistics,
///   inference on the running ones, as PyTorch), MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape,
///   Concat, Dropout (the identity: an exported graph is the inference graph), Identity and Constant.
/// - **Checked when built**: every node's op type and attributes, and every value's shape for the given input
///   shape (shape inference with a batch of 2), so an unsupported or inconsistent graph is an `ONNXError` naming
///   the node — never a model that fails halfway through its first batch.
public struct GraphModel: Layer {
    public static let supportedOps = ["Conv", "Gemm", "MatMul", "Add", "Mul", "Relu", "LeakyRelu", "Sigmoid",
                                      "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten",
                                      "Reshape", "Concat", "Dropout", "Identity", "Constant"]

    /// Where the graph came from (a path, for messages).
    public let source: String
    public let inputName: String
    public let outputName: String
    /// The input shape the graph was checked for, [C, H, W] (or [F] for a flat input); no batch dimension.
    public let inputShape: [Int]
    /// Whether the graph takes flat [batch, C·H·W] inputs while the data gives images [C, H, W] (a PyTorch MLP
    /// exported on flattened inputs): the model flattens them first, and its export starts with a Flatten.
    public let flattensInput: Bool
    /// The output shape for that input, without the batch dimension ([classes] for a classifier).
    public let outputShape: [Int]
    /// The file's `metadata_props` (`shears.mean` / `shears.std` when Shears or the data layer wrote them).
    public let metadata: [String: String]
    let steps: [GraphStep]
    let original: Onnx_ModelProto
    /// Initializers and constants by name (parameters and buffers are the same `Variable`s as in the lists).
    let values: [String: Variable]
    public let namedParameters: [(String, Variable)]
    public let namedBuffers: [(String, Variable)]

    /// Reads `path` and checks the graph for inputs shaped `inputShape` ([C, H, W], no batch); nil takes the shape
    /// the file declares (every dimension but the batch must then be fixed).
    public init(contentsOf path: String, inputShape: [Int]? = nil) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ONNXError("\(path): cannot read the ONNX model: \(error.localizedDescription)")
        }
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw ONNXError("\(path): not an ONNX model (\(data.count) bytes that do not parse as onnx.ModelProto: \(error))")
        }
        try self.init(model: model, source: path, inputShape: inputShape)
    }

    public init(model: Onnx_ModelProto, source: String, inputShape requested: [Int]? = nil) throws {
        let graph = model.graph
        guard model.hasGraph, !graph.node.isEmpty else { throw ONNXError("\(source): the ONNX model has no graph nodes") }
        for op in model.opsetImport where op.domain.isEmpty || op.domain == "ai.onnx" {
            guard op.version >= 7 else { throw ONNXError("\(source): opset \(op.version) is too old; Shears reads opset 7 and newer") }
        }
        let initializerNames = Set(graph.initializer.map(\.name))
        let inputs = graph.input.filter { !initializerNames.contains($0.name) }
        guard inputs.count == 1, let input = inputs.first else {
            throw ONNXError("\(source): expected one graph input (the images), found \(inputs.map(\.name))")
        }
        guard let output = graph.output.first else { throw ONNXError("\(source): the graph declares no output") }
        let declared = input.type.tensorType.shape.dim.dropFirst().map { Int($0.dimValue) }
        let flat = requested.map { r in r.count > 1 && declared.count == 1 && declared[0] == r.reduce(1, *) } ?? false
        let shape = flat ? requested! : try Self.inputShape(input, requested: requested, source: source)
        var builder = try GraphBuilding(graph: graph, source: source)
        builder.shapes[input.name] = [2] + (flat ? [shape.reduce(1, *)] : shape)
        let steps = try builder.compileNodes(graph.node)
        guard let outShape = builder.shapes[output.name] else {
            throw ONNXError("\(source): no node produces the graph output \"\(output.name)\"")
        }
        self.source = source
        inputName = input.name
        outputName = output.name
        inputShape = shape
        flattensInput = flat
        outputShape = Array(outShape.dropFirst())
        metadata = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        self.steps = steps
        original = model
        values = builder.values
        namedParameters = builder.parameterNames.map { ($0, builder.values[$0]!) }
        namedBuffers = builder.bufferNames.map { ($0, builder.values[$0]!) }
    }

    /// The input shape without the batch: `requested`, checked against the file's fixed dimensions.
    static func inputShape(_ input: Onnx_ValueInfoProto, requested: [Int]?, source: String) throws -> [Int] {
        let dims = input.type.tensorType.shape.dim.dropFirst().map { $0.dimValue > 0 ? Int($0.dimValue) : nil }
        if let requested {
            let fixed = dims.compactMap { $0 }
            guard dims.isEmpty || (dims.count == requested.count
                    && zip(dims, requested).allSatisfy { d, r in d == nil || d == r }) else {
                throw ONNXError("\(source): the graph input \"\(input.name)\" takes [batch, "
                    + dims.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "], not inputs shaped \(requested)"
                    + (fixed.isEmpty ? "" : " (choose data of that shape)"))
            }
            return requested
        }
        guard !dims.isEmpty, dims.allSatisfy({ $0 != nil }) else {
            throw ONNXError("\(source): the graph input \"\(input.name)\" has no fixed [C, H, W] shape; give the input shape")
        }
        return dims.map { $0! }
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var env = values
        env[inputName] = flattensInput && x.shape.count > 2 ? flatten(x) : x
        // Integer inputs (a Reshape target) are bound when compiled, so only variables are passed.
        for step in steps { env[step.output] = step.run(step.inputs.compactMap { env[$0] }) }
        return env[outputName]!
    }
}
