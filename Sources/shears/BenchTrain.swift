import ArgumentParser
import Foundation
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

    func validate() throws {
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2 (batch norm needs it), got \(batchSize)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
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
        let x = Variable(Tensor.normal(inputShape, generator: &g))
        let labels = (0..<batchSize).map { _ in Int32(g.nextInt(below: 10)) }
        var sgd = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
        let params = net.namedParameters

        var lastLoss: Float = .nan
        func trainStep() {
            net.zeroGrad()
            let loss = softmaxCrossEntropy(logits: net(x), labels: labels)
            loss.backward()
            sgd.step(params)
            lastLoss = loss.value.scalar
        }
        for _ in 0..<warmup { trainStep() }
        KernelStats.enabled = convStats
        KernelStats.reset()
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
