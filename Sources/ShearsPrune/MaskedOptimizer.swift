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
public struct MaskedOptimizer<O: Optimizer>: Optimizer {
    public var base: O
    public var mask: Mask { didSet { stateIsMasked = false } }
    /// Re-mask the optimizer state after every step instead of only after a mask change (costs a copy of the state).
    public var maskStateEveryStep: Bool
    private var stateIsMasked = false

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

/// Wraps an existential optimizer (what `makeOptimizer` returns) in a `MaskedOptimizer`.
public func masked(_ optimizer: any Optimizer, mask: Mask, maskStateEveryStep: Bool = false) -> any Optimizer {
    func wrap<O: Optimizer>(_ o: O) -> any Optimizer { MaskedOptimizer(o, mask: mask, maskStateEveryStep: maskStateEveryStep) }
    return wrap(optimizer)
}
