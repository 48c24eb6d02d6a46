/// A node of the define-by-run tape: a tensor value, its gradient, and how to send a gradient back to the
/// variables it was computed from (micrograd's `Value`, over whole tensors).
///
/// Every differentiable op (Ops/) computes its forward result and, right beside it, a closure that maps the
/// gradient of its output to the gradients of its inputs. `backward()` walks the graph in reverse
/// topological order, accumulates gradients into leaves (parameters), and releases each interior node's
/// closure and gradient as soon as it has been used, so nothing of a step outlives its backward pass.
public final class Variable {
    /// Setting the value (assigning it, or writing in place through `value.withUnsafeMutableBufferPointer`,
    /// `Mask.zero(&p.value, …)`, an optimizer step) drops `inferenceForm`, which would describe the old value.
    /// In-place writes go through `_modify`, which yields the stored tensor itself: a `didSet` observer would make
    /// callers in other modules write through a temporary copy, so every optimizer step would copy every weight.
    public var value: Tensor {
        get { storedValue }
        set {
            storedValue = newValue
            inferenceForm = nil
            version &+= 1
        }
        _modify {
            inferenceForm = nil
            version &+= 1
            yield &storedValue
        }
    }
    /// Counts the writes to `value`: what an `InferencePlan` compares to know that the weights it folded are stale.
    public private(set) var version: UInt64 = 0
    private var storedValue: Tensor
    /// A sparse form of this weight for inference (`SparseInference.prepare` in ShearsNN attaches it where it
    /// measured faster). `linear` and `conv2d` use it only while grad mode is off, so training never sees it.
    public var inferenceForm: SparseWeight? {
        didSet {
            if let f = inferenceForm {
                precondition(f.weightShape == value.shape,
                             "Variable.inferenceForm: sparse form of a \(f.weightShape) weight attached to a \(value.shape) value")
            }
        }
    }
    /// The fixed sparsity structure of this weight for training (`SparseTraining.prepare` in ShearsNN attaches it
    /// where it measured faster). `linear` and `conv2d` use it in grad mode and out of it (unless an
    /// `inferenceForm` takes precedence there). Unlike `inferenceForm` it survives writes to `value`: it holds no
    /// values, only which entries are kept, and gathers them from `value` at every forward (see
    /// `SparseTrainingWeight`). Entries outside it must stay 0 (MaskedOptimizer keeps them so).
    public var trainingForm: SparseTrainingWeight? {
        didSet {
            if let f = trainingForm {
                precondition(f.weightShape == value.shape,
                             "Variable.trainingForm: structure of a \(f.weightShape) weight attached to a \(value.shape) value")
            }
        }
    }
    /// The accumulated gradient ∂loss/∂value (leaves keep it until `zeroGrad`; interior nodes drop it).
    public var grad: Tensor?
    public let requiresGrad: Bool
    /// Called during `backward()` as soon as this variable's gradient is final for that pass: every node of the
    /// tape that feeds it has run (data-parallel training starts averaging a parameter's gradient there, while
    /// the rest of the backward pass still runs). Never called for a variable the pass does not reach. Unset, it
    /// costs one nil check per edge of the tape.
    public var onGradientReady: ((Variable) -> Void)?
    /// The op that produced this variable ("leaf" for inputs and parameters), for error messages.
    public let op: String

    var inputs: [Variable]
    var backwardFn: ((Tensor) -> [Tensor?])?

    /// A leaf: an input (`requiresGrad: false`) or a parameter (`requiresGrad: true`).
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.storedValue = value
        self.requiresGrad = requiresGrad
        self.op = "leaf"
        self.inputs = []
        self.backwardFn = nil
    }

    /// The result of an op. Records `backward` on the tape only when grad mode is on and an input needs it.
    public init(_ value: Tensor, op: String, inputs: [Variable], attributes: OpAttributes = .none,
                backward: @escaping (Tensor) -> [Tensor?]) {
        self.storedValue = value
        self.op = op
        let needs = GradMode.isEnabled && inputs.contains { $0.requiresGrad }
        self.requiresGrad = needs
        self.inputs = needs ? inputs : []
        self.backwardFn = needs ? backward : nil
        OpTrace.note(op, inputs, self, attributes)
    }

    public var shape: [Int] { value.shape }
    public var isLeaf: Bool { op == "leaf" }

    public func zeroGrad() { grad = nil }

    /// Adds `g` into this variable's gradient (gradients accumulate, as in PyTorch).
    func accumulate(_ g: Tensor) {
        checkShape(g.shape == value.shape, op: "backward(\(op))", "gradient", g.shape, "value", value.shape,
                   expected: "a gradient shaped like its value")
        if grad == nil { grad = g } else { grad!.addScaled(g, alpha: 1) }
    }

    /// Back-propagates from this variable. A scalar starts from gradient 1; otherwise pass `seed`.
    public func backward(seed: Tensor? = nil) {
        guard requiresGrad else { return }
        let start = seed ?? {
            precondition(value.count == 1, "backward: \(op) output has shape \(value.shape); pass a seed gradient for a non-scalar")
            return Tensor(shape: value.shape, repeating: 1)
        }()
        accumulate(start)

        // Iterative depth-first topological sort (deep nets would overflow a recursive one).
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        // For variables with `onGradientReady`: how many tape edges still have to deliver into them.
        var pending: [ObjectIdentifier: Int] = [:]
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for input in node.inputs where input.requiresGrad {
                if input.onGradientReady != nil { pending[ObjectIdentifier(input), default: 0] += 1 }
                if !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
            }
        }
        if onGradientReady != nil && pending[ObjectIdentifier(self)] == nil { onGradientReady?(self) }

        for node in order.reversed() {
            guard let fn = node.backwardFn, let g = node.grad else {
                if !pending.isEmpty { Self.countDown(node.inputs, &pending) }
                continue
            }
            let grads = fn(g)
            precondition(grads.count == node.inputs.count, "backward(\(node.op)): \(grads.count) gradients for \(node.inputs.count) inputs")
            for (input, gi) in zip(node.inputs, grads) where input.requiresGrad {
                if let gi { input.accumulate(gi) }
            }
            if !pending.isEmpty { Self.countDown(node.inputs, &pending) }
            // Release the tape as we go: memory stays flat across training steps.
            node.backwardFn = nil
            node.inputs = []
            node.grad = nil
        }
    }

    /// One edge into each of `inputs` has delivered its gradient (or had none to give); fires `onGradientReady`
    /// for those whose last edge this was.
    private static func countDown(_ inputs: [Variable], _ pending: inout [ObjectIdentifier: Int]) {
        for input in inputs where input.requiresGrad && input.onGradientReady != nil {
            let id = ObjectIdentifier(input)
            guard let left = pending[id] else { continue }
            if left == 1 { pending[id] = nil; input.onGradientReady?(input) } else { pending[id] = left - 1 }
        }
    }
}

/// Whether ops record themselves on the tape. Off inside `withoutGrad` (evaluation, probing).
public enum GradMode {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    /// Runs `body` with taping off and restores the previous mode afterwards.
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = isEnabled
        isEnabled = false
        defer { isEnabled = previous }
        return try body()
    }
}

/// Which phase layers run in: batch statistics and dropout in training, running statistics in evaluation.
public enum LearningPhase: Sendable { case training, inference }
