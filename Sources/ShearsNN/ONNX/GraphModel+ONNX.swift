import ONNXProto
import ShearsTensor

extension GraphModel: ONNXExportable {
    /// The imported graph again, node for node, with every float initializer's current value (trained, pruned)
    /// and the integer constants as they were. Names are the file's own, under `prefix` when nested.
    public func emitONNX(into g: ONNXGraphBuilder, input: String, prefix: String) throws -> String {
        let source = flattensInput ? g.flatten(input, prefix) : input
        func rename(_ name: String) -> String {
            if name == inputName { return source }
            return name.isEmpty || prefix.isEmpty ? name : ONNXGraphBuilder.join(prefix, name)
        }
        for t in original.graph.initializer {
            if let v = values[t.name], t.dataType != ONNXType.int64, t.dataType != ONNXType.int32 {
                g.initializer(rename(t.name), v)
            } else {
                var copy = t
                copy.name = rename(t.name)
                g.append(initializer: copy)
            }
        }
        for node in original.graph.node {
            var copy = node
            copy.input = node.input.map(rename)
            copy.output = node.output.map(rename)
            g.append(copy)
        }
        return rename(outputName)
    }
}

extension GraphModel {
    /// The same graph with the float initializers named in `values` replaced — a structurally pruned (compacted)
    /// graph's narrower tensors. The file's `value_info` is dropped and every node's shapes are derived again from
    /// the new initializers, so a cut that does not fit the graph fails here, naming the node.
    public func replacingValues(_ values: [String: Tensor]) throws -> GraphModel {
        var model = original
        model.graph.valueInfo = []
        model.graph.initializer = model.graph.initializer.map { t in
            guard let v = values[t.name], t.dataType != ONNXType.int64, t.dataType != ONNXType.int32 else { return t }
            return Onnx_TensorProto(name: t.name, float: v)
        }
        return try GraphModel(model: model, source: source, inputShape: inputShape)
    }
}
