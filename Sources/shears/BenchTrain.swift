import ArgumentParser
import Foundation
import ShearsData
import ShearsNN
import ShearsOptim
import ShearsTensor

/// Models the training benchmark knows.
enum BenchModel: String, ExpressibleByArgument, CaseIterable {
    case mlp, resnet20
}

/// `shears bench train`: times full training steps (forward, backward, SGD with momentum and weight decay)
/// on a fixed synthetic batch after warm-up, and prints one JSON line.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time full training steps on a fixed synthetic batch; print one JSON line.")

    @Option(help: "Model: \(BenchModel.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: BenchModel
    @Option(help: "Images per step.") var batchSize: Int = 128
    @Option(help: "Timed steps.") var steps: Int = 20
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 3
    @Option(help: "Threads for oneDNN and OpenBLAS.") var threads: Int = 2
    @Option(help: "Seed for weights and the synthetic batch.") var seed: UInt64 = 0
    @Flag(help: "Also report convolution GFLOP/s against this machine's sgemm peak (adds timing probes).")
    var convStats = false
    @Option(help: "Feed real batches through the DataLoader instead of one fixed batch: 'mnist' (the embedded MNIST, for mlp) or 'cifar-shaped' (synthetic 3×32×32 images with CIFAR augmentation, for resnet20).")
    var data: String?
    @Option(help: "With --data: batches prepared ahead on the background thread (0 = on demand, in the training thread).")
    var prefetch: Int = 2

    func validate() throws {
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2 (batch norm needs it), got \(batchSize)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        if let data, !["mnist", "cifar-shaped"].contains(data) {
            throw ValidationError("--data must be 'mnist' or 'cifar-shaped', got '\(data)'")
        }
        guard prefetch >= 0 else { throw ValidationError("--prefetch must be ≥ 0, got \(prefetch)") }
    }

    func run() throws {
        Threads.set(threads)
        var g = Generator(seed: seed)
        let net: any Layer
        let inputShape: [Int]
        switch model {
        case .mlp:
            net = MLP.lenet300100(generator: &g)
            inputShape = [batchSize, 784]
        case .resnet20:
            net = ResNetCIFAR(depth: 20, generator: &g)
            inputShape = [batchSize, 3, 32, 32]
        }
        var x = Variable(Tensor.normal(inputShape, generator: &g))
        var labels = (0..<batchSize).map { _ in Int32(g.nextInt(below: 10)) }
        var sgd = SGD(learningRate: model == .mlp ? 0.01 : 0.1, momentum: 0.9, weightDecay: 5e-4)
        let params = net.namedParameters

        // Real batches: an endless stream over epochs of the loader; the time spent waiting for the next batch is
        // what prefetching is meant to hide.
        var batches: AnyIterator<Batch>?
        if let data {
            let dataset: Dataset
            var augmentation = Augmentation.none
            if data == "mnist" {
                dataset = try loadDataset(.mnist, split: .train, directory: try embeddedMNISTDirectory())
            } else {
                dataset = makeSynthetic(count: 10_000, classes: 10, imageShape: [3, 32, 32], seed: seed)
                augmentation = .cifar
            }
            guard dataset.imageShape.reduce(1, *) == inputShape.dropFirst().reduce(1, *) else {
                throw ValidationError("--data \(data) has images \(dataset.imageShape), which --model \(model.rawValue) does not take")
            }
            let stats = dataset.channelStatistics()
            let loader = DataLoader(dataset: dataset, batchSize: batchSize, shuffle: true, seed: seed, augmentation: augmentation,
                                    mean: stats.mean, std: stats.std, dropLast: true, prefetch: prefetch)
            var epoch = 0
            var current = loader.epoch(0).makeIterator()
            batches = AnyIterator {
                if let b = current.next() { return b }
                epoch += 1
                current = loader.epoch(epoch).makeIterator()
                return current.next()
            }
        }
        var waiting = 0.0

        var lastLoss: Float = .nan
        func trainStep() {
            if let batches {
                let t = monotonicSeconds()
                let b = batches.next()!
                waiting += monotonicSeconds() - t
                x = Variable(model == .mlp ? b.images.reshaped([batchSize, 784]) : b.images)
                labels = b.labels
            }
            net.zeroGrad()
            let loss = softmaxCrossEntropy(logits: net(x), labels: labels)
            loss.backward()
            sgd.step(params)
            lastLoss = loss.value.scalar
        }
        for _ in 0..<warmup { trainStep() }
        KernelStats.enabled = convStats
        KernelStats.reset()
        waiting = 0
        let t0 = monotonicSeconds()
        for _ in 0..<steps { trainStep() }
        let elapsed = monotonicSeconds() - t0
        KernelStats.enabled = false
        guard lastLoss.isFinite else { throw ValidationError("training diverged: the loss became \(lastLoss)") }

        var fields: [(String, String)] = [
            ("model", "\"\(model.rawValue)\""), ("batch_size", "\(batchSize)"), ("threads", "\(threads)"),
            ("images_per_second", String(format: "%.1f", Double(batchSize * steps) / elapsed)),
            ("peak_rss_mb", String(format: "%.1f", peakResidentMegabytes())),
            ("steps", "\(steps)"), ("parameters", "\(net.parameterCount)"),
        ]
        if let data {
            fields += [("data", "\"\(data)\""), ("prefetch", "\(prefetch)"),
                       ("waiting_for_data_fraction", String(format: "%.4f", waiting / elapsed))]
        }
        if convStats && KernelStats.convSeconds > 0 {
            let peak = measureSgemmGFLOPS()
            let conv = KernelStats.convFlops / KernelStats.convSeconds / 1e9
            fields += [("conv_gflops", String(format: "%.1f", conv)),
                       ("conv_share_of_step", String(format: "%.3f", KernelStats.convSeconds / elapsed)),
                       ("sgemm_peak_gflops", String(format: "%.1f", peak)),
                       ("conv_fraction_of_sgemm_peak", String(format: "%.3f", conv / peak))]
        }
        print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    }
}
