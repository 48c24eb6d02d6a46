import ShearsOptim
import ShearsTensor

/// Wraps an optimizer so that pruned weights stay exactly 0 (S-Cyc spec §4 "Masking mechanics"; OpenLTH issue #6):
///
/// 1. before the base step, gradients of pruned entries are zeroed (as `w ⊙ m` in the forward would give);
/// 2. after it, pruned weights are set to 0 again: weight decay, momentum or Adam moments left over from before
///    the pruning could otherwise move them;
/// 3. optimizer state entries (`kind/name` shaped like the parameter: momentum buffers, Adam/RMSprop moments)
///    are zeroed at pruned positions at the first step after the mask is set or state is loaded. From then on
///    they stay 0 by themselves: with g = 0 and w = 0 at a pruned entry, SGD's buffer (μ·0 + 0), Adam's m and v
///    and RMSprop's square average all remain 0. Set `maskStateEveryStep` for optimizers without that property.
///
/// Parameters without a mask entry are updated as the base optimizer would.
///
/// With `sparseUpdate` on and a base optimizer that updates every entry on its own (`EntrywiseUpdatable`: SGD),
/// steps after the first one under a mask touch only the kept entries: no masking passes, no update of the
/// pruned ones. That is bit-identical to the dense masked step, because there the pruned weights, gradients and
/// state entries are all 0 going in and stay exactly 0 (see 3. above), and the kept entries see the same
/// float operations in the same order. It assumes nothing else writes the pruned weights between steps: after
/// rewinding or loading weights without a new mask, assign `mask` again (the next step is then a dense one).
public struct MaskedOptimizer<O: Optimizer>: Optimizer {
    public var base: O
    public var mask: Mask {
        didSet {
            stateIsMasked = false
            keptIndices = nil
        }
    }
    /// Re-mask the optimizer state after every step instead of only after a mask change (costs a copy of the state).
    public var maskStateEveryStep: Bool
    /// Update only the kept entries where that is bit-identical (see above). Off by default.
    public var sparseUpdate = false
    /// How many steps took the sparse update (diagnostics and tests).
    public private(set) var sparseSteps = 0
    private var stateIsMasked = false
    /// Row-major indices of the kept entries per masked name, made at the first sparse step under a mask.
    private var keptIndices: [String: [Int32]]?

    public init(_ base: O, mask: Mask, maskStateEveryStep: Bool = false) {
        self.base = base
        self.mask = mask
        self.maskStateEveryStep = maskStateEveryStep
    }

    public var learningRate: Float {
        get { base.learningRate }
        set { base.learningRate = newValue }
    }

    public mutating func step(_ parameters: [(String, Variable)]) {
        if sparseUpdate && stateIsMasked && !maskStateEveryStep, let type = O.self as? any EntrywiseUpdatable.Type,
           entrywiseStep(type, parameters) {
            sparseSteps += 1
            return
        }
        if !stateIsMasked {
            // A new mask: zero the pruned weights and any state carried over from before the pruning first.
            mask.apply(to: parameters)
            maskState()
        }
        mask.maskGradients(of: parameters)
        base.step(parameters)
        mask.apply(to: parameters)
        if maskStateEveryStep { maskState() }
        stateIsMasked = true
    }

    /// The sparse update: kept entries of masked parameters through the base's `stepEntries`, the others through
    /// its ordinary step. Returns false (having changed nothing) where the base cannot do it this step.
    private mutating func entrywiseStep<E: EntrywiseUpdatable>(_: E.Type, _ parameters: [(String, Variable)]) -> Bool {
        if keptIndices == nil { keptIndices = mask.tensors.mapValues(Mask.keptIndices) }
        let kept = keptIndices!
        let masked = parameters.filter { kept[$0.0] != nil && mask.tensors[$0.0]!.shape == $0.1.shape }
        let rest = parameters.filter { kept[$0.0] == nil || mask.tensors[$0.0]!.shape != $0.1.shape }
        return withUnsafeMutablePointer(to: &base) { pointer in
            pointer.withMemoryRebound(to: E.self, capacity: 1) { e in
                guard masked.allSatisfy({ e.pointee.canStepEntries($0.0, $0.1) }) else { return false }
                for (name, p) in masked { e.pointee.stepEntries(name, p, indices: kept[name]!) }
                e.pointee.step(rest)
                return true
            }
        }
    }

    /// Zeroes the pruned positions of every `kind/name` state tensor whose name is masked and whose shape matches.
    mutating func maskState() {
        var state = base.state
        var changed = false
        for (key, value) in state {
            guard let slash = key.firstIndex(of: "/") else { continue }
            let name = String(key[key.index(after: slash)...])
            guard let m = mask[name], m.shape == value.shape else { continue }
            var v = value
            Mask.zero(&v, where: m, name: key)
            state[key] = v
            changed = true
        }
        if changed { try! base.loadState(state) }   // keys came from base.state, so loading cannot fail
    }

    public var state: [String: Tensor] { base.state }

    public mutating func loadState(_ state: [String: Tensor]) throws {
        try base.loadState(state)
        stateIsMasked = false
    }
}

/// An optimizer whose update of one entry reads only that entry's weight, gradient and state, so that it can
/// update a chosen set of entries and leave the others untouched (what `MaskedOptimizer.sparseUpdate` uses).
public protocol EntrywiseUpdatable: Optimizer {
    /// Whether `stepEntries` can update `parameter` this step (false, for example, before its state exists).
    func canStepEntries(_ name: String, _ parameter: Variable) -> Bool
    /// Exactly what `step` does to the entries at `indices` (row-major, ascending) of one parameter; nothing else.
    mutating func stepEntries(_ name: String, _ parameter: Variable, indices: [Int32])
}

extension Mask {
    /// The row-major indices of a mask's ones.
    static func keptIndices(_ m: Tensor) -> [Int32] {
        m.contiguous().withUnsafeBufferPointer { b in b.indices.filter { b[$0] != 0 }.map { Int32($0) } }
    }
}

/// Wraps an existential optimizer (what `makeOptimizer` returns) in a `MaskedOptimizer`.
public func masked(_ optimizer: any Optimizer, mask: Mask, maskStateEveryStep: Bool = false, sparseUpdate: Bool = false) -> any Optimizer {
    func wrap<O: Optimizer>(_ o: O) -> any Optimizer {
        var m = MaskedOptimizer(o, mask: mask, maskStateEveryStep: maskStateEveryStep)
        m.sparseUpdate = sparseUpdate
        return m
    }
    return wrap(optimizer)
}
