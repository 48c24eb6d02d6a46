import Foundation

/// How a per-example loss is reduced over the batch (PyTorch's `reduction`).
public enum Reduction: String, Codable, Sendable { case mean, sum }

/// Softmax cross-entropy (`F.cross_entropy`): logits [N, K], integer class labels in 0..<K.
/// loss_i = logsumexp(z_i) − z_i[y_i]; ∂z_i = softmax(z_i) − onehot(y_i), divided by N for `.mean`.
public func softmaxCrossEntropy(logits: Variable, labels: [Int32], reduction: Reduction = .mean) -> Variable {
    let s = logits.shape
    checkShape(s.count == 2 && s[0] == labels.count, op: "softmaxCrossEntropy", "logits", s, "labels", [labels.count],
               expected: "logits [N, K] and N labels")
    let (n, k) = (s[0], s[1])
    let z = logits.value
    let probs = Tensor(uninitializedShape: s)
    var total = 0.0
    let zp = z.storage.pointer, pp = probs.storage.pointer
    for i in 0..<n {
        let label = Int(labels[i])
        precondition(label >= 0 && label < k, "softmaxCrossEntropy: label \(label) at row \(i) outside 0..<\(k)")
        let row = zp + i * k, prow = pp + i * k
        var m = -Float.infinity
        for j in 0..<k { m = max(m, row[j]) }
        var se = 0.0
        for j in 0..<k { let e = exp(row[j] - m); prow[j] = e; se += Double(e) }
        let inv = Float(1 / se)
        for j in 0..<k { prow[j] *= inv }
        total += Double(m) + log(se) - Double(row[label])
    }
    let scaleBy = reduction == .mean ? 1 / Double(n) : 1
    let loss = Tensor(Float(total * scaleBy))
    return Variable(loss, op: "softmaxCrossEntropy", inputs: [logits]) { gy in
        var g = probs
        g.withUnsafeMutableBufferPointer { gp in   // copies: `probs` stays intact for a second backward
            for i in 0..<n { gp[i * k + Int(labels[i])] -= 1 }
        }
        g.scale(by: gy.scalar * Float(scaleBy))
        return [g]
    }
}

/// Mean squared error (`F.mse_loss`): Σ (ŷ − y)² over all elements, divided by their number for `.mean`.
public func mseLoss(_ prediction: Variable, target: Tensor, reduction: Reduction = .mean) -> Variable {
    checkShape(prediction.shape == target.shape, op: "mseLoss", "prediction", prediction.shape, "target", target.shape,
               expected: "equal shapes")
    let diff = prediction.value - target
    var total = 0.0
    diff.withUnsafeBufferPointer { for v in $0 { total += Double(v) * Double(v) } }
    let scaleBy = reduction == .mean ? 1 / Double(max(diff.count, 1)) : 1
    return Variable(Tensor(Float(total * scaleBy)), op: "mseLoss", inputs: [prediction]) { gy in
        [diff * (2 * gy.scalar * Float(scaleBy))]
    }
}
