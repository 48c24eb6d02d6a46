import ShearsData
import ShearsNN
import ShearsTensor

/// Loss and accuracy of a model on a dataset.
public struct EvaluationResult: Codable, Equatable, Sendable {
    public var loss: Double
    public var accuracy: Double
}

/// Evaluates `model` in inference mode (running batch-norm statistics, no dropout, no tape) on `dataset`,
/// normalised with `mean`/`std` as in training.
public func evaluate(_ model: any Layer, on dataset: Dataset, mean: [Float]?, std: [Float]?, batchSize: Int = 1000) -> EvaluationResult {
    guard dataset.count > 0 else { return EvaluationResult(loss: .nan, accuracy: .nan) }
    let loader = DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false, seed: 0, mean: mean, std: std, prefetch: 1)
    var lossSum = 0.0, correct = 0.0
    Context.with(.inference) {
        GradMode.withoutGrad {
            for batch in loader.epoch(0) {
                let logits = model(Variable(batch.images))
                let loss = softmaxCrossEntropy(logits: logits, labels: batch.labels, reduction: .sum)
                lossSum += Double(loss.value.scalar)
                correct += accuracy(logits: logits.value, labels: batch.labels) * Double(batch.labels.count)
            }
        }
    }
    return EvaluationResult(loss: lossSum / Double(dataset.count), accuracy: correct / Double(dataset.count))
}
