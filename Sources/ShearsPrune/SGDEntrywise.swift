import ShearsOptim
import ShearsTensor

/// SGD's update restricted to chosen entries (`MaskedOptimizer.sparseUpdate`): the same expressions as
/// `SGD.step` (ShearsOptim/SGD.swift), element by element in the same float operations, so the kept entries get
/// the same bits as in a dense step. Needs the momentum buffer to exist already (the first step creates it
/// densely); with momentum 0 there is no state.
extension SGD: EntrywiseUpdatable {
    public func canStepEntries(_ name: String, _ parameter: Variable) -> Bool {
        parameter.grad == nil || momentum == 0 || momentumBuffers[name]?.shape == parameter.value.shape
    }

    public mutating func stepEntries(_ name: String, _ p: Variable, indices: [Int32]) {
        guard let grad = p.grad?.in(p.value.format) else { return }
        let (lr, mu, wd, keep, nesterov) = (learningRate, momentum, weightDecay, 1 - dampening, self.nesterov)
        grad.withUnsafeBufferPointer { gb in
            p.value.withUnsafeMutableBufferPointer { wb in
                indices.withUnsafeBufferPointer { ib in
                    let (g, w) = (gb.baseAddress!, wb.baseAddress!)
                    if mu == 0 {
                        for k in ib { let i = Int(k); w[i] -= lr * (g[i] + wd * w[i]) }
                        return
                    }
                    momentumBuffers[name]!.withUnsafeMutableBufferPointer { bb in
                        let b = bb.baseAddress!
                        if nesterov {
                            for k in ib { let i = Int(k); let d = g[i] + wd * w[i]; let bi = mu * b[i] + keep * d; b[i] = bi; w[i] -= lr * (d + mu * bi) }
                        } else {
                            for k in ib { let i = Int(k); let d = g[i] + wd * w[i]; let bi = mu * b[i] + keep * d; b[i] = bi; w[i] -= lr * bi }
                        }
                    }
                }
            }
        }
    }
}
