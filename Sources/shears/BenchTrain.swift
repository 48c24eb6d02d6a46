import ArgumentParser
import Foundation
import ShearsData
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// Models the training benchmark knows.
enum BenchModel: String, ExpressibleByArgument, CaseIterable {
    case mlp, resnet20, vgg16
}

/// `shears bench train`: times full training steps (forward, backward, SGD with momentum and weight decay)
/// on a fixed synthetic batch after warm-up, and prints one JSON line.
///
/// With `--sparsity s`, every conv / linear weight of the seeded initialisation is pruned by layerwise magnitude
/// (each loses ⌈s·count⌉ of its smallest |w|) and the mask stays fixed; two copies of that model then train on
/// the same batch in interleaved rounds: dense-masked (dense kernels, MaskedOptimizer's dense masked step, as
/// training runs today) and sparse (`SparseTraining.prepare` with `--sparse-kernels`, and MaskedOptimizer's
/// sparse update). Both losses must agree at the end (the sparse path computes the same steps up to rounding),
/// or the command fails with the numbers.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time full training steps on a fixed synthetic batch; print one JSON line.")

    @Option(help: "Model.")
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
    @Option(help: "Prune every conv / linear weight to this fraction (layerwise magnitude on the random init, fixed mask) and compare dense-masked with sparse training steps, in [0, 1).")
    var sparsity: Double?
    @Option(help: "With --sparsity: which layers train sparse: auto (where measured faster), on (all), off (none).")
    var sparseKernels: SparseKernelMode = .auto
    @Option(help: "With --sparsity: interleaved rounds of --steps steps per side.") var rounds: Int = 3

    func validate() throws {
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2 (batch norm needs it), got \(batchSize)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        if let data, !["mnist", "cifar-shaped"].contains(data) {
            throw ValidationError("--data must be 'mnist' or 'cifar-shaped', got '\(data)'")
        }
        guard prefetch >= 0 else { throw ValidationError("--prefetch must be ≥ 0, got \(prefetch)") }
        if let sparsity {
            guard sparsity.isFinite && sparsity >= 0 && sparsity < 1 else {
                throw ValidationError("--sparsity must be in [0, 1), got \(sparsity)")
            }
            guard data == nil && !convStats else { throw ValidationError("--sparsity times a fixed batch; it does not combine with --data or --conv-stats") }
        }
        guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 1000, got \(rounds)") }
    }

    /// The model of `--model`, seeded, and the shape of one batch.
    func makeNet(_ g: inout Generator) -> (any Layer, [Int]) {
        switch model {
        case .mlp: return (MLP.lenet300100(generator: &g), [batchSize, 784])
        case .resnet20: return (ResNetCIFAR(depth: 20, generator: &g), [batchSize, 3, 32, 32])
        case .vgg16: return (VGG(depth: 16, generator: &g), [batchSize, 3, 32, 32])
        }
    }

    func run() throws {
        Threads.set(threads)
        if let sparsity { return try runSparse(sparsity) }
        var g = Generator(seed: seed)
        let (net, inputShape) = makeNet(&g)
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
            ("blas", "\"\(BLASKernels.coreName)\""), ("images_per_second", String(format: "%.1f", Double(batchSize * steps) / elapsed)),
            ("peak_rss_mb", String(format: "%.1f", peakResidentMegabytes())),
            ("steps", "\(steps)"), ("parameters", "\(net.parameterCount)"),
        ]
        if let data {
            fields += [("data", "\"\(data)\""), ("prefetch", "\(prefetch)"),
                       ("waiting_for_data_fraction", String(format: "%.4f", waiting / elapsed))]
        }
        if convStats && KernelStats.convSeconds > 0 {
            // The peak is the CPU's own: fused multiply-add chains at its widest vector width on these threads.
            // OpenBLAS' sgemm is no peak where its build is pinned to older kernels (Haswell AVX2 on AVX-512
            // machines, where oneDNN's convolutions ran at 1.38× "the sgemm peak"); it is reported for reference.
            let peak = measureFMAPeakGFLOPS(threads: threads)
            let sgemm = measureSgemmGFLOPS()
            let conv = KernelStats.convFlops / KernelStats.convSeconds / 1e9
            fields += [("conv_gflops", String(format: "%.1f", conv)),
                       ("conv_share_of_step", String(format: "%.3f", KernelStats.convSeconds / elapsed)),
                       ("fma_peak_gflops", String(format: "%.1f", peak)),
                       ("fma_peak_kernel", "\"\(SparseTrainingKernelBuild.name) fma chains, \(threads) threads\""),
                       ("conv_fraction_of_fma_peak", String(format: "%.3f", conv / peak)),
                       ("openblas_sgemm_1024_gflops", String(format: "%.1f", sgemm))]
        }
        print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    }
}

// MARK: --sparsity: dense-masked against sparse training steps

extension BenchTrain {
    /// One side of the comparison: a model, its optimizer, and the decisions that made it sparse (none if dense).
    final class Side {
        let net: any Layer
        var optimizer: MaskedOptimizer<SGD>
        var decisions: [SparseTrainingDecision] = []
        var seconds: [Double] = []
        var loss: Float = .nan
        init(net: any Layer, optimizer: MaskedOptimizer<SGD>) { (self.net, self.optimizer) = (net, optimizer) }
    }

    /// Layerwise magnitude pruning of every conv / linear weight of `net` to `sparsity`, applied to the weights.
    func pruneLayerwise(_ net: any Layer, _ sparsity: Double) throws -> Mask {
        let prunable = PrunableSelection().select(net)
        let scores = try MagnitudeScore().scores(model: net, parameters: prunable, mask: Mask.ones(for: prunable))
        let mask = prune(scores: scores, mask: Mask.ones(for: prunable), fraction: sparsity, allocation: .layerwise,
                         shapes: Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.shape) }))
        mask.apply(to: prunable)
        return mask
    }

    func runSparse(_ sparsity: Double) throws {
        var sides: [Side] = []
        var shape: [Int] = []
        var mask = Mask()
        for sparse in [false, true] {
            var g = Generator(seed: seed)   // the same initialisation for both sides
            let (net, inputShape) = makeNet(&g)
            shape = inputShape
            mask = try pruneLayerwise(net, sparsity)
            // lr 0.01 for every model: at 0.1 on one fixed batch VGG-16's trajectory is chaotic enough that the
            // float rounding of two summation orders grows past any useful loss check within three steps.
            var optimizer = MaskedOptimizer(SGD(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4), mask: mask)
            optimizer.sparseUpdate = sparse
            let side = Side(net: net, optimizer: optimizer)
            if sparse {
                side.decisions = SparseTraining.prepare(model: net, masks: mask.tensors, batchSize: batchSize,
                                                        inputShape: Array(inputShape.dropFirst()), mode: sparseKernels, seed: seed)
            }
            sides.append(side)
        }
        var g = Generator(seed: seed &+ 1)
        let x = Variable(Tensor.normal(shape, generator: &g))
        let labels = (0..<batchSize).map { _ in Int32(g.nextInt(below: 10)) }
        func step(_ side: Side) {
            side.net.zeroGrad()
            let loss = softmaxCrossEntropy(logits: side.net(x), labels: labels)
            loss.backward()
            side.optimizer.step(side.net.namedParameters)
            side.loss = loss.value.scalar
        }
        // The first step starts from the same weights: its losses must agree to rounding (the forward).
        for side in sides { step(side) }
        try checkLosses(sides[0].loss, sides[1].loss, tolerance: 1e-4, when: "first step")
        for side in sides { for _ in 0..<warmup { step(side) } }
        var ratios: [Double] = []
        for _ in 0..<rounds {
            for side in sides {
                let t0 = monotonicSeconds()
                for _ in 0..<steps { step(side) }
                side.seconds.append(monotonicSeconds() - t0)
            }
            ratios.append(sides[0].seconds.last! / sides[1].seconds.last!)
        }
        try checkLosses(sides[0].loss, sides[1].loss, tolerance: 1e-2, when: "last step")
        for d in sides[1].decisions { log(d) }
        printSparseJSON(sides, ratios: ratios, density: mask.density)
    }

    /// Both sides ran the same steps, so their losses differ only by the rounding of two summation orders: to
    /// `tolerance` relative at the first step, and (grown over the steps) at the last.
    func checkLosses(_ dense: Float, _ sparse: Float, tolerance: Float, when: String) throws {
        guard dense.isFinite && sparse.isFinite else { throw ValidationError("training diverged: the losses became \(dense) (dense-masked) and \(sparse) (sparse)") }
        guard abs(dense - sparse) <= tolerance * max(1, abs(dense)) else {
            throw ValidationError("bench train: at the \(when) the sparse loss \(sparse) differs from the dense-masked loss \(dense) by more than \(tolerance) relative; the sparse kernels disagree with the dense ones")
        }
    }

    func log(_ d: SparseTrainingDecision) {
        let t = d.denseMicroseconds.map { String(format: ", dense %.1f µs, sparse %.1f µs", $0, d.sparseMicroseconds ?? .nan) } ?? ""
        let line = "\(d.name) \(d.weightShape) on \(d.inputShape): sparsity \(String(format: "%.3f", d.sparsity))\(t) → \(d.chosen ? "sparse" : "dense")"
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func printSparseJSON(_ sides: [Side], ratios: [Double], density: Double) {
        func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let ips = sides.map { Double(batchSize * steps) / median($0.seconds) }
        let fields: [(String, String)] = [
            ("model", "\"\(model.rawValue)\""), ("batch_size", "\(batchSize)"), ("threads", "\(threads)"),
            ("blas", "\"\(BLASKernels.coreName)\""), ("sparsity", String(format: "%.4f", 1 - density)), ("sparse_kernels", "\"\(sparseKernels.rawValue)\""),
            ("kernel_build", "\"\(SparseTrainingKernelBuild.name)\""),
            ("sparse_layers", "\(sides[1].decisions.filter(\.chosen).count)"), ("layers", "\(sides[1].decisions.count)"),
            ("images_per_second_dense_masked", String(format: "%.1f", ips[0])),
            ("images_per_second_sparse", String(format: "%.1f", ips[1])),
            ("speedup_median", String(format: "%.3f", median(ratios))),
            ("speedup_per_round", "[" + ratios.map { String(format: "%.3f", $0) }.joined(separator: ",") + "]"),
            ("rounds", "\(rounds)"), ("steps", "\(steps)"),
            ("final_loss_dense_masked", String(format: "%.6f", sides[0].loss)), ("final_loss_sparse", String(format: "%.6f", sides[1].loss)),
        ]
        print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    }
}
