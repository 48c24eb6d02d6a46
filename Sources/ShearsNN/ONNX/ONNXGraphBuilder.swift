import Foundation
import ONNXProto
import SwiftProtobuf
import ShearsTensor

/// A layer that can describe its inference-mode forward pass as ONNX nodes. The exporter walks a model through
/// this protocol — each layer emits its own nodes and initializers — so an export follows the layers' real
/// shapes (pruned, compacted or imported) rather than a table per model.
public protocol ONNXExportable {
    /// Appends this layer's nodes reading value `input`; returns the name of its output value. `prefix` is the
    /// layer's name in the model's state dict (`layer1.0.conv1`, "" at the top): initializers are named
    /// `prefix.weight` etc., exactly as `namedParameters` / `namedBuffers` name them.
    func emitONNX(into graph: ONNXGraphBuilder, input: String, prefix: String) throws -> String
}

/// Collects the nodes and initializers of one ONNX graph while layers emit themselves.
public final class ONNXGraphBuilder {
    public private(set) var nodes: [Onnx_NodeProto] = []
    public private(set) var initializers: [Onnx_TensorProto] = []
    private var initializerNames = Set<String>()
    private var counts: [String: Int] = [:]

    public init() {}

    /// `prefix.local`, or `local` at the top level.
    public static func join(_ prefix: String, _ local: String) -> String { prefix.isEmpty ? local : "\(prefix).\(local)" }

    /// Adds a float initializer holding `value`'s current contents (zeros kept as zeros); the name is the state dict's.
    public func initializer(_ name: String, _ value: Variable) {
        precondition(!initializerNames.contains(name), "ONNX export: initializer \(name) emitted twice")
        initializerNames.insert(name)
        initializers.append(Onnx_TensorProto(name: name, float: value.value))
    }

    /// Adds an int64 constant initializer (a Reshape target) under a fresh name; returns the name.
    public func constant(int64 values: [Int64], hint: String) -> String {
        let name = fresh(hint)
        initializerNames.insert(name)
        initializers.append(Onnx_TensorProto(name: name, int64: values, dims: [values.count]))
        return name
    }

    /// A value name not used before: `/prefix/Op_output_0` numbered when repeated (PyTorch's naming style).
    public func fresh(_ hint: String) -> String {
        let n = counts[hint, default: 0]
        counts[hint] = n + 1
        return n == 0 ? hint : "\(hint)_\(n)"
    }

    /// Appends a node and returns its (single) output's name.
    @discardableResult
    public func node(_ op: String, _ inputs: [String], prefix: String, _ attributes: [Onnx_AttributeProto] = []) -> String {
        let scope = "/" + prefix.replacingOccurrences(of: ".", with: "/")
        let name = fresh((prefix.isEmpty ? "" : scope) + "/\(op)")
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = [name + "_output_0"]
        n.attribute = attributes
        nodes.append(n)
        return n.output[0]
    }

    /// Appends an existing node unchanged (an imported graph re-exported).
    public func append(_ node: Onnx_NodeProto) { nodes.append(node) }

    /// Adds an existing initializer unchanged (an imported graph's non-float constants).
    public func append(initializer t: Onnx_TensorProto) {
        initializerNames.insert(t.name)
        initializers.append(t)
    }
}

/// Writes models as ONNX files.
public enum ONNXExport {
    /// The opset the exporter targets: 17 (ONNX 1.12), the first with every attribute used here in its current form.
    public static let opset: Int64 = 17
    /// IR version 8 goes with opset 17.
    public static let irVersion: Int64 = 8
    public static let meanKey = "shears.mean"
    public static let stdKey = "shears.std"

    /// `model` as an ONNX model taking `input` [batch, C, H, W] (batch symbolic) and returning `logits`
    /// [batch, classes], in inference mode (batch norm on running statistics, dropout off). `metadata` goes to
    /// `metadata_props` (the input normalisation under `shears.mean` / `shears.std`).
    public static func model(_ model: any Layer, inputShape: [Int], classes: Int, metadata: [String: String] = [:]) throws -> Onnx_ModelProto {
        guard let exportable = model as? ONNXExportable else {
            throw ONNXError("\(type(of: model)) cannot be exported to ONNX: it does not implement ONNXExportable")
        }
        let graph = ONNXGraphBuilder()
        let output = try exportable.emitONNX(into: graph, input: "input", prefix: "")
        var g = Onnx_GraphProto()
        g.name = "shears"
        g.node = graph.nodes
        g.initializer = graph.initializers
        g.input = [valueInfo("input", [nil] + inputShape.map { Optional($0) })]
        // The last node's output is renamed `logits` so that the graph's output has a stable name.
        if let last = g.node.indices.last, g.node[last].output == [output] {
            g.node[last].output = ["logits"]
        } else {
            g.node.append({ var n = Onnx_NodeProto(); n.opType = "Identity"; n.name = "/Identity"; n.input = [output]; n.output = ["logits"]; return n }())
        }
        g.output = [valueInfo("logits", [nil, classes])]
        var m = Onnx_ModelProto()
        m.irVersion = irVersion
        m.producerName = "shears"
        m.producerVersion = "1"
        var op = Onnx_OperatorSetIdProto()
        op.domain = ""
        op.version = opset
        m.opsetImport = [op]
        m.graph = g
        m.metadataProps = metadata.sorted { $0.key < $1.key }.map { k, v in
            var e = Onnx_StringStringEntryProto(); e.key = k; e.value = v; return e
        }
        return m
    }

    /// A float tensor's type, `nil` dimensions symbolic (`batch`).
    static func valueInfo(_ name: String, _ dims: [Int?]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "batch" }
            return dim
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = ONNXType.float
        tensor.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    /// Writes `model` to `path` atomically.
    public static func write(_ model: Onnx_ModelProto, to path: String) throws {
        let data = try model.serializedData()
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ONNXError("\(path): cannot write the ONNX model: \(error.localizedDescription)")
        }
    }
}
