import ShearsData
import ShearsNN
import ShearsTensor

/// The weight tensors of a model, for `gradientValues(parameters:)`: parameters named `…weight` of rank ≥ 2
/// (linear and convolution weights; biases and batch-norm scales left out), in registration order.
public func weightParameters(of model: any Layer) -> [(String, Variable)] {
    model.namedParameters.filter { $0.0.hasSuffix("weight") && $0.1.value.rank >= 2 }
}

/// Every weight gradient ∂L/∂w of `parameters`, averaged over `batches`, as one flat array (the S-Cyc paper's
/// Fig. 1(a) "all weight gradients"). Parameters in the given order, each in logical row-major order.
///
/// - `loss(model, batch)` computes the scalar loss of one batch (e.g. softmax cross-entropy, mean over the
///   batch); it runs in `phase` (`.training` by default, as the gradients of training are).
/// - Side-effect free: every parameter and buffer of `model` (and of `parameters`) gets its value back (batch-norm
///   running statistics that a training-mode forward updates included), and every gradient its previous value
///   (nil stays nil).
/// - Pruned weights: with `excludingMasked: nil` (the default) every entry of every parameter is included, pruned
///   (zero) ones too, since the paper histograms "all weight gradients" and the gradient of a pruned weight is in
///   general not 0. Pass the pruning masks (name → 0/1 tensor shaped like the parameter) to keep only the alive
///   entries (mask ≠ 0), as the spec's [proposal] does; parameters without a mask entry are kept whole.
/// - Needs grad mode on (`GradMode.withoutGrad` would make the gradients empty) and at least one batch.
public func gradientValues(model: any Layer, batches: [Batch], loss: (any Layer, Batch) -> Variable,
                           parameters: [(String, Variable)], excludingMasked masks: [String: Tensor]? = nil,
                           phase: LearningPhase = .training) -> [Float] {
    precondition(!batches.isEmpty, "gradientValues: needs at least one batch")
    precondition(GradMode.isEnabled, "gradientValues: grad mode is off (called inside GradMode.withoutGrad)")
    if let masks {
        for (name, p) in parameters {
            if let m = masks[name] {
                precondition(m.shape == p.value.shape,
                             "gradientValues: mask for \(name) has shape \(m.shape), the parameter \(p.value.shape)")
            }
        }
    }

    // Snapshot everything the forward/backward passes can touch, as real copies (not shared storage).
    var seen = Set<ObjectIdentifier>()
    var touched: [Variable] = []
    for (_, v) in model.stateDict + parameters where seen.insert(ObjectIdentifier(v)).inserted { touched.append(v) }
    let savedValues = touched.map { $0.value.map { $0 } }
    let savedGrads = touched.map { v in v.grad.map { g in g.map { $0 } } }
    defer {
        for (v, (value, grad)) in zip(touched, zip(savedValues, savedGrads)) { v.value = value; v.grad = grad }
    }

    for v in touched { v.grad = nil }
    Context.with(phase) {
        for batch in batches {
            let l = loss(model, batch)
            precondition(l.value.count == 1, "gradientValues: the loss must be a scalar, got shape \(l.shape)")
            l.backward()
        }
    }

    let scale = 1 / Float(batches.count)
    var out: [Float] = []
    out.reserveCapacity(parameters.reduce(0) { $0 + $1.1.value.count })
    for (name, p) in parameters {
        let g = p.grad?.scalars ?? [Float](repeating: 0, count: p.value.count)
        if let mask = masks?[name] {
            for (gi, mi) in zip(g, mask.scalars) where mi != 0 { out.append(gi * scale) }
        } else {
            for gi in g { out.append(gi * scale) }
        }
    }
    return out
}

/// The post-ReLU outputs of every hidden layer of `mlp` over `batches`, in inference mode and without taping,
/// as one flat array (Fig. 1(b)): per batch, layer fc1's [N, h1] outputs, then fc2's, …, each row-major.
/// The classifier's logits are not included. Count = Σ_batches N · Σ hidden sizes; every value ≥ 0.
public func postReLUActivations(of mlp: MLP, batches: [Batch]) -> [Float] {
    var out: [Float] = []
    let hidden = mlp.layers.dropLast().reduce(0) { $0 + $1.weight.value.shape[0] }
    out.reserveCapacity(batches.reduce(0) { $0 + $1.images.shape[0] } * hidden)
    Context.with(.inference) {
        GradMode.withoutGrad {
            for batch in batches {
                let n = batch.images.shape[0]
                var h = Variable(batch.images.reshaped([n, -1]))
                for layer in mlp.layers.dropLast() {
                    h = relu(linear(h, weight: layer.weight, bias: layer.bias))
                    out.append(contentsOf: h.value.scalars)
                }
            }
        }
    }
    return out
}
