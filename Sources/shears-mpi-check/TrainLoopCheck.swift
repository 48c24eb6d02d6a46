import Foundation
import ShearsData
import ShearsDistributed
import ShearsExperiments
import ShearsNN
import ShearsOptim
import ShearsTensor

/// The training commands' own loop: `TrainLoop` with `standardStep` in one process, with its data-parallel step (`TrainLoop.dataParallel`)
/// under mpirun, on LeNet-300-100 (12 steps, global batch 64, momentum SGD with a decaying rate); the final
/// weights are compared like the scenarios' (file `trainloop.f32` beside them).
func trainLoopWeights(comm: Communicator) throws -> [Float] {
    var g = Generator(seed: 12)
    let model = MLP.lenet300100(generator: &g)
    let data = try loadDataset(.mnist, split: .train, directory: embeddedMNISTDirectory()).prefix(512)
    var loop = TrainLoop(model: model, parameters: model.namedParameters,
                         loader: DataLoader(dataset: data, batchSize: 64, shuffle: true, seed: 13, dropLast: true, prefetch: 0),
                         total: 12, learningRate: { it in 0.05 / Float(1 + it / 4) }, divergence: { l, at in "diverged \(l) at \(at)" })
    let dp: DataParallel? = comm.size > 1 ? try DataParallel(model: model, communicator: comm, bucketBytes: 4 << 10) : nil
    loop.dataParallel = dp
    var state = LoopState(optimizer: SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4))
    try loop.run(&state, hooks: [])
    if let dp, try !dp.communicator.differingFromRoot(model.namedParameters).isEmpty {
        throw DistributedError("TrainLoop's data-parallel step: ranks differ from rank 0 after 12 steps")
    }
    return flat(model.namedParameters.map(\.1.value))
}

func checkTrainLoop(directory: String, comm: Communicator) throws -> [String] {
    let weights = try trainLoopWeights(comm: comm)
    guard comm.isWriter else { return [] }
    let reference = try read((directory as NSString).appendingPathComponent("trainloop.f32"))
    let d = maxDifference(weights, reference)
    print("compare trainloop on \(comm.size) ranks: TrainLoop's data-parallel step, 12 steps, ranks bit-identical, max |Δ| to one process \(d) (bound 1e-05)")
    return d <= 1e-5 ? [] : ["trainloop: max |Δ| to one process \(d) > 1e-5"]
}
