import ShearsData
import ShearsNN
import ShearsTensor

/// Loss and accuracy of a model on a dataset.
public struct EvaluationResult: Codable, Equatable, Sendable {
    public var loss: Double
    public var accuracy: Double
}

/// Evaluates `model` in inference mode (running batch-norm statistics, no dropout, no tape) on `dataset`,
/// normalised with `mean`/`std` as in training. Batches run through the model's `InferencePlan` (batch norm
/// folded, post-ops fused; kept between calls and reloaded when the weights change), or through the model
/// itself when it has an op the plan does not run.
public func evaluate(_ model: any Layer, on dataset: Dataset, mean: [Float]?, std: [Float]?, batchSize: Int = 1000) -> EvaluationResult {
    guard dataset.count > 0 else { return EvaluationResult(loss: .nan, accuracy: .nan) }
    let loader = DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false, seed: 0, mean: mean, std: std, prefetch: 1)
    var lossSum = 0.0, correct = 0.0
    GradMode.withoutGrad {
        for batch in loader.epoch(0) {
            let logits = InferencePlans.infer(model, batch.images)
            let loss = softmaxCrossEntropy(logits: Variable(logits), labels: batch.labels, reduction: .sum)
            lossSum += Double(loss.value.scalar)
            correct += accuracy(logits: logits, labels: batch.labels) * Double(batch.labels.count)
        }
    }
    return EvaluationResult(loss: lossSum / Double(dataset.count), accuracy: correct / Double(dataset.count))
}
