import ShearsNN
import ShearsTensor

/// Why `dependencyGroups` could not analyse a model.
public struct StructuredPruningError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The dependency groups of `model`, derived from one traced forward on a zero input shaped `[1] + inputShape`
/// (inference phase; batch statistics untouched): no model lists its groups. Channel spaces flow through the
/// recorded ops (`OpTrace`): conv2d / linear read one space (consumers, axis 1) and start a new one (producers,
/// axis 0); batch norm adds its γ, β and running statistics; ReLU, pooling and dropout pass the space on; a flatten
/// of [N, C, H, W] passes it on in blocks of H·W; additions merge the spaces they add (a residual stage becomes
/// one group until a projection shortcut starts a new space). The input's space and the output's (the
/// classifier's classes) are fixed, and so is any space that reaches an op the tracer does not know.
/// Groups are returned in the order their first producer ran.
public func dependencyGroups(of model: any Layer, inputShape: [Int]) throws -> [DependencyGroup] {
    let names = Dictionary(model.namedParameters.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
    let buffers = Set(model.namedBuffers.map(\.0))
    let x = Variable(Tensor.zeros([1] + inputShape))
    let (output, ops) = Context.with(.inference) { OpTrace.record { model(x) } }
    var flow = ChannelFlow(names: names, buffers: buffers)
    flow.start(x)
    for op in ops { try flow.visit(op) }
    flow.finish(output)
    return flow.groups()
}

/// The union-find over channel spaces that `dependencyGroups` runs.
struct ChannelFlow {
    struct Space {
        var members: [GroupMember] = []
        var channels: Int
        var fixedBecause: String?
    }

    let names: [ObjectIdentifier: String]
    let buffers: Set<String>
    var spaces: [Space] = []
    var parent: [Int] = []
    /// Which space (and block size) an activation's axis 1 is.
    var activations: [ObjectIdentifier: (space: Int, block: Int)] = [:]

    init(names: [ObjectIdentifier: String], buffers: Set<String>) { self.names = names; self.buffers = buffers }

    mutating func newSpace(channels: Int, fixed: String? = nil) -> Int {
        spaces.append(Space(channels: channels, fixedBecause: fixed))
        parent.append(spaces.count - 1)
        return spaces.count - 1
    }

    mutating func root(_ s: Int) -> Int {
        var r = s
        while parent[r] != r { r = parent[r] }
        parent[s] = r
        return r
    }

    mutating func union(_ a: Int, _ b: Int) -> Int {
        let (ra, rb) = (root(a), root(b))
        guard ra != rb else { return ra }
        let (keep, drop) = ra < rb ? (ra, rb) : (rb, ra)
        parent[drop] = keep
        spaces[keep].members += spaces[drop].members
        spaces[keep].fixedBecause = spaces[keep].fixedBecause ?? spaces[drop].fixedBecause
        return keep
    }

    mutating func fix(_ s: Int, _ reason: String) {
        let r = root(s)
        if spaces[r].fixedBecause == nil { spaces[r].fixedBecause = reason }
    }

    mutating func start(_ input: Variable) {
        activations[ObjectIdentifier(input)] = (newSpace(channels: input.shape.count > 1 ? input.shape[1] : 1,
                                                         fixed: "it is the model's input"), 1)
    }

    mutating func finish(_ output: Variable) {
        if let a = activations[ObjectIdentifier(output)] { fix(a.space, "it is the model's output (the classes)") }
    }

    /// The space of an activation input; a variable the trace has not seen (a constant) gets a fixed space.
    mutating func space(of v: Variable) -> (space: Int, block: Int) {
        if let a = activations[ObjectIdentifier(v)] { return a }
        let s = newSpace(channels: v.shape.count > 1 ? v.shape[1] : 1, fixed: "it meets a tensor that is not traced")
        activations[ObjectIdentifier(v)] = (s, 1)
        return (s, 1)
    }

    mutating func add(_ member: GroupMember, to s: Int) {
        let r = root(s)
        if !spaces[r].members.contains(member) { spaces[r].members.append(member) }
    }
}
