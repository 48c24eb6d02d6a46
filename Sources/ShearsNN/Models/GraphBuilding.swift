import ONNXProto
import ShearsTensor

/// One node of an imported graph, ready to run: the Shears op with its attributes bound.
struct GraphStep {
    let node: Onnx_NodeProto
    let inputs: [String]
    let output: String
    let run: ([Variable]) -> Variable
}

/// Turns an ONNX graph into `GraphStep`s, checking every node's op, attributes and shapes on the way (with a
/// batch of 2), so that `GraphModel.init` either returns a model that runs or throws naming the node.
struct GraphBuilding {
    let source: String
    /// Every value's shape, batch included.
    var shapes: [String: [Int]] = [:]
    /// Float initializers and constants as variables.
    var values: [String: Variable] = [:]
    /// Integer initializers and constants (Reshape targets).
    var integers: [String: [Int64]] = [:]
    var parameterNames: [String] = []
    var bufferNames: [String] = []

    init(graph: Onnx_GraphProto, source: String) throws {
        self.source = source
        // BatchNormalization's mean and variance are state, not trained.
        let statistics = Set(graph.node.filter { $0.opType == "BatchNormalization" }.flatMap { $0.input.dropFirst(3) })
        for t in graph.initializer {
            guard values[t.name] == nil, integers[t.name] == nil else {
                throw ONNXError("\(source): initializer \"\(t.name)\" appears twice")
            }
            shapes[t.name] = t.shape
            if t.dataType == ONNXType.int64 || t.dataType == ONNXType.int32 {
                integers[t.name] = try t.int64s(in: source)
                continue
            }
            let isBuffer = statistics.contains(t.name)
            values[t.name] = Variable(try t.tensor(in: source), requiresGrad: !isBuffer)
            if isBuffer { bufferNames.append(t.name) } else { parameterNames.append(t.name) }
        }
    }

    mutating func compileNodes(_ nodes: [Onnx_NodeProto]) throws -> [GraphStep] {
        var steps: [GraphStep] = []
        for node in nodes {
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw ONNXError("\(source): \(node.label) is in domain \"\(node.domain)\"; Shears imports the default ONNX "
                    + "domain's ops: \(GraphModel.supportedOps.joined(separator: ", "))")
            }
            for name in node.input where !name.isEmpty && shapes[name] == nil {
                throw ONNXError("\(source): \(node.label) reads \"\(name)\", which no earlier node, initializer or input defines "
                    + "(nodes must be in topological order)")
            }
            if let step = try compile(node) { steps.append(step) }
        }
        return steps
    }

    /// The step for `node` (nil for a Constant, which only defines a value), its output shape recorded.
    mutating func compile(_ node: Onnx_NodeProto) throws -> GraphStep? {
        if node.opType == "Constant" { try constant(node); return nil }
        let inputs = node.input.filter { !$0.isEmpty }
        let shapesIn = inputs.map { shapes[$0]! }
        let (run, shape): (([Variable]) -> Variable, [Int])
        switch node.opType {
        case "Conv": (run, shape) = try conv(node, shapesIn)
        case "Gemm": (run, shape) = try gemm(node, shapesIn)
        case "MatMul": (run, shape) = try matmulNode(node, shapesIn)
        case "Add", "Mul": (run, shape) = try binary(node, shapesIn)
        case "Relu": (run, shape) = try unary(node, shapesIn) { relu($0) }
        case "LeakyRelu":
            let alpha = node.float("alpha", default: 0.01)
            (run, shape) = try unary(node, shapesIn) { leakyRelu($0, alpha: alpha) }
        case "Sigmoid": (run, shape) = try unary(node, shapesIn) { sigmoid($0) }
        case "Identity", "Dropout": (run, shape) = try identity(node, shapesIn)
        case "BatchNormalization": (run, shape) = try batchNormNode(node, inputs, shapesIn)
        case "MaxPool", "AveragePool": (run, shape) = try poolNode(node, shapesIn)
        case "GlobalAveragePool": (run, shape) = try globalPool(node, shapesIn)
        case "Flatten": (run, shape) = try flattenNode(node, shapesIn)
        case "Reshape": (run, shape) = try reshapeNode(node, inputs)
        case "Concat": (run, shape) = try concatNode(node, shapesIn)
        default:
            throw ONNXError("\(source): \(node.label) has op type \(node.opType), which Shears does not import; "
                + "supported: \(GraphModel.supportedOps.joined(separator: ", "))")
        }
        guard let output = node.output.first, !output.isEmpty else { throw fail(node, "has no output") }
        shapes[output] = shape
        return GraphStep(node: node, inputs: inputs, output: output, run: run)
    }

    func fail(_ node: Onnx_NodeProto, _ message: String) -> ONNXError { ONNXError("\(source): \(node.label) \(message)") }

    func arity(_ node: Onnx_NodeProto, _ shapes: [[Int]], _ counts: ClosedRange<Int>) throws {
        guard counts.contains(shapes.count) else {
            throw fail(node, "has \(shapes.count) inputs; expected \(counts.lowerBound == counts.upperBound ? "\(counts.lowerBound)" : "\(counts.lowerBound) to \(counts.upperBound)")")
        }
        let extra = node.output.dropFirst().filter { !$0.isEmpty }
        guard extra.isEmpty || node.opType == "Dropout" || node.opType == "BatchNormalization" else {
            throw fail(node, "has outputs \(node.output); Shears imports only the first output of \(node.opType)")
        }
    }

    /// A `Constant` node's value: float constants become (untrained) values, integer ones Reshape targets.
    mutating func constant(_ node: Onnx_NodeProto) throws {
        guard let output = node.output.first, let a = node.attribute("value"), a.hasT else {
            throw fail(node, "has no tensor `value` attribute (only tensor constants are imported)")
        }
        shapes[output] = a.t.shape
        if a.t.dataType == ONNXType.int64 || a.t.dataType == ONNXType.int32 {
            integers[output] = try a.t.int64s(in: source)
        } else {
            values[output] = Variable(try a.t.tensor(in: source))
        }
    }
}
