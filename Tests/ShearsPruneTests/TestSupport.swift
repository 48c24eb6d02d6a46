import ShearsData
import ShearsNN
import ShearsTensor

/// Random images and labels for a model with `classes` outputs.
func randomBatch(_ shape: [Int], classes: Int, seed: UInt64) -> Batch {
    var g = Generator(seed: seed)
    let x = Tensor.normal(shape, generator: &g)
    let y = (0..<shape[0]).map { _ in Int32(g.nextInt(below: classes)) }
    return Batch(images: x, labels: y, indices: Array(0..<shape[0]))
}

/// One forward/backward of mean cross-entropy, leaving gradients in the parameters.
func computeGradients(_ model: any Layer, _ batch: Batch) {
    model.zeroGrad()
    crossEntropyLossForTests(model, batch).backward()
}

func crossEntropyLossForTests(_ model: any Layer, _ batch: Batch) -> Variable {
    softmaxCrossEntropy(logits: model(Variable(batch.images)), labels: batch.labels)
}

func tensor(_ shape: [Int], _ scalars: [Float]) -> Tensor { Tensor(shape: shape, scalars: scalars) }
