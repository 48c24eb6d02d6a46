import ShearsData
import ShearsDistributed
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// One small training run, the same under any number of ranks: a model from a seed, the first `images` MNIST
/// training images in a seeded order, global batches of `batch`, plain SGD with momentum and weight decay.
struct Scenario {
    let name: String
    let makeModel: () -> any Layer
    let batch: Int
    let steps: Int
    /// After this step's backward, before averaging: score w ⊙ ∂L/∂w, reduce over ranks, prune half (global
    /// allocation on rank 0), broadcast the mask; later steps keep the pruned weights at zero.
    let pruneAfterStep: Int?
    /// Synchronised batch norm under MPI (the one-process reference uses ordinary batch norm).
    let syncBatchNorm: Bool
    /// Whether rank 0's weights must match the one-process reference (per-rank batch norm does not).
    let matchesReference: Bool
    /// Largest per-step difference to one process, relative to max(1, |value|).
    var tolerance: Float = 1e-5
}

let scenarios: [Scenario] = [
    Scenario(name: "lenet", makeModel: { var g = Generator(seed: 7); return MLP.lenet300100(generator: &g) },
             batch: 64, steps: 8, pruneAfterStep: 4, syncBatchNorm: false, matchesReference: true),
    // Without ReLU the network is smooth, so N ranks and one process differ by rounding only (1e-5 holds).
    Scenario(name: "bn-sync", makeModel: { var g = Generator(seed: 8); return TinyBNNet(relu: false, generator: &g) },
             batch: 64, steps: 6, pruneAfterStep: nil, syncBatchNorm: true, matchesReference: true),
    // With (fused) ReLU, a pre-activation within rounding of 0 can fall on the other side of the kink on one
    // side of the comparison and pass or block one example's gradient there: jumps of about lr·|g|/batch
    // (seen: 3e-5 after step 4, 4e-4 by step 6), hence a bound that only rules out a wrong synchronisation
    // (per-rank batch norm, bn-local, is 4e-3 to 7e-3 away after as many steps; see the printed figures).
    Scenario(name: "bn-sync-relu", makeModel: { var g = Generator(seed: 8); return TinyBNNet(relu: true, generator: &g) },
             batch: 64, steps: 6, pruneAfterStep: nil, syncBatchNorm: true, matchesReference: true, tolerance: 1e-3),
    Scenario(name: "bn-local", makeModel: { var g = Generator(seed: 8); return TinyBNNet(relu: true, generator: &g) },
             batch: 64, steps: 6, pruneAfterStep: nil, syncBatchNorm: false, matchesReference: false),
]

/// conv(1→8, 3×3, stride 2) → BN (→ ReLU) → conv(8→8, 3×3, stride 2) → BN (→ ReLU) → linear(392 → 10).
struct TinyBNNet: Layer {
    let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm, fc: Linear
    let relu: Bool

    init(relu: Bool, generator g: inout Generator) {
        self.relu = relu
        conv1 = Conv2d(1, 8, kernel: 3, stride: 2, padding: 1, bias: false, generator: &g)
        bn1 = BatchNorm(8)
        conv2 = Conv2d(8, 8, kernel: 3, stride: 2, padding: 1, bias: false, generator: &g)
        bn2 = BatchNorm(8)
        fc = Linear(8 * 7 * 7, 10, generator: &g)
    }

    func callAsFunction(_ x: Variable) -> Variable {
        let h = bn2(conv2(bn1(conv1(x), fusedReLU: relu)), fusedReLU: relu)
        return fc(flatten(h))
    }

    var namedParameters: [(String, Variable)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("bn1", bn1.namedParameters)
            + prefixed("conv2", conv2.namedParameters) + prefixed("bn2", bn2.namedParameters) + prefixed("fc", fc.namedParameters)
    }
    var namedBuffers: [(String, Variable)] { prefixed("bn1", bn1.namedBuffers) + prefixed("bn2", bn2.namedBuffers) }
}

/// What a scenario run reports after each step, and at its pruning event.
struct StepObserver {
    var afterStep: (_ step: Int, _ model: any Layer, _ timing: AveragingTiming) throws -> Void
    var afterPruning: (_ scores: [String: Tensor], _ mask: Mask, _ model: any Layer) throws -> Void
}

/// Trains `scenario` on this communicator: each rank its shard of every global batch, gradients averaged.
func train(_ scenario: Scenario, comm: Communicator, observer: StepObserver) throws {
    let model = scenario.makeModel()
    let params = model.namedParameters
    let data = try loadDataset(.mnist, split: .train, directory: embeddedMNISTDirectory()).prefix(512)
    let loader = DataLoader(dataset: data, batchSize: scenario.batch, shuffle: true, seed: 11, dropLast: true, prefetch: 0)
    let dp = try DataParallel(model: model, communicator: comm, syncBatchNorm: scenario.syncBatchNorm,
                              bucketBytes: 4 << 10)   // small, so that several buckets start during backward
    var sgd = SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)
    var mask: Mask?
    for step in 1...scenario.steps {
        let global = loader.batch(epoch: (step - 1) / loader.batchesPerEpoch, index: (step - 1) % loader.batchesPerEpoch)
        let shard = try dp.shard(global)
        model.zeroGrad()
        dp.beginBackward()
        softmaxCrossEntropy(logits: model(Variable(shard.batch.images)), labels: shard.batch.labels).backward()
        if step == scenario.pruneAfterStep {
            let (scores, decided) = try pruningEvent(params, dp: dp)
            mask = decided
            try observer.afterPruning(scores, decided, model)
        }
        try dp.averageGradients()
        mask?.maskGradients(of: params)
        sgd.step(params)
        mask?.apply(to: params)
        try observer.afterStep(step, model, dp.averager.lastTiming)
    }
}

/// Scores from this rank's shard (w ⊙ ∂L_r/∂w, linear in the gradient so that the weighted reduction gives the
/// global batch's), |·| after the reduction, a global 50 % mask decided on rank 0 alone and broadcast.
func pruningEvent(_ params: [(String, Variable)], dp: DataParallel) throws -> ([String: Tensor], Mask) {
    let prunable = params.filter { $0.0.hasSuffix("weight") }
    var local: [String: Tensor] = [:]
    for (name, p) in prunable {
        let w = p.value.scalars, g = p.grad!.scalars
        local[name] = Tensor(shape: p.shape, scalars: zip(w, g).map { $0 * $1 })
    }
    let reduced = try dp.reduceScores(local).mapValues { t in Tensor(shape: t.shape, scalars: t.scalars.map { abs($0) }) }
    var decided: [String: Tensor] = [:]
    if dp.isWriter {
        let shapes = Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.shape) })
        decided = prune(scores: reduced, mask: Mask.ones(for: prunable), fraction: 0.5, allocation: .global, shapes: shapes).tensors
    }
    let mask = Mask(try dp.communicator.broadcast(decided))
    mask.apply(to: params)
    return (reduced, mask)
}
