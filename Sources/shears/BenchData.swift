import ArgumentParser
import Foundation
import ShearsData
import ShearsNN
import ShearsOptim
import ShearsTensor

/// `shears bench data`: is loading an image-folder dataset off the critical path? Decodes a folder dataset
/// (made here from synthetic JPEGs unless --data-dir names one), then trains ResNet-20 on it with the
/// DataLoader's CIFAR augmentation and background prefetch, and prints one JSON line: decode throughput, the
/// time to make one batch on demand, the training step time, and the share of training time spent waiting
/// for the next batch.
struct BenchData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Time image-folder decoding and the wait for batches during ResNet-20 training; print one JSON line.")

    @Option(help: "An image-folder dataset (train/ + val/ or class folders); default: synthetic JPEGs written to a temporary folder.")
    var dataDir: String?
    @Option(help: "Synthetic data: classes.") var classes: Int = 10
    @Option(help: "Synthetic data: training images per class.") var perClass: Int = 64
    @Option(help: "Synthetic data: source image width (resized to --image-size).") var sourceWidth: Int = 80
    @Option(help: "Synthetic data: source image height.") var sourceHeight: Int = 72
    @Flag(help: "Synthetic data: PNG instead of JPEG.") var png = false
    @Option(help: "Side of the square training images.") var imageSize: Int = 64
    @Option(help: "Images per step.") var batchSize: Int = 64
    @Option(help: "Timed training steps.") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 2
    @Option(help: "Batches prepared ahead on the background thread.") var prefetch: Int = 2
    @Option(help: "Threads for oneDNN and OpenBLAS.") var threads: Int = 2

    func validate() throws {
        guard (1...1000).contains(classes) else { throw ValidationError("--classes must be between 1 and 1000, got \(classes)") }
        guard (1...100_000).contains(perClass) else { throw ValidationError("--per-class must be between 1 and 100000, got \(perClass)") }
        guard (1...4096).contains(sourceWidth) && (1...4096).contains(sourceHeight) else {
            throw ValidationError("--source-width and --source-height must be between 1 and 4096, got \(sourceWidth)×\(sourceHeight)")
        }
        guard (8...1024).contains(imageSize) else { throw ValidationError("--image-size must be between 8 and 1024, got \(imageSize)") }
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2 (batch norm needs it), got \(batchSize)") }
        guard steps >= 1, warmup >= 0 else { throw ValidationError("--steps must be ≥ 1 and --warmup ≥ 0, got \(steps) and \(warmup)") }
        guard prefetch >= 0 else { throw ValidationError("--prefetch must be ≥ 0, got \(prefetch)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
    }

    func run() throws {
        Threads.set(threads)
        var temporary: String?
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        let dir: String
        if let dataDir { dir = dataDir } else {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("shears-bench-data-\(UUID().uuidString)").path
            temporary = dir
            try ImageEncoder.writeSyntheticFolder(dir, classes: classes, perClass: perClass, width: sourceWidth,
                                                  height: sourceHeight, jpeg: !png)
        }
        let t0 = monotonicSeconds()
        let pair = try loadDatasetPair(kind: .folder, dataDir: dir, imageSize: imageSize)
        let decodeSeconds = monotonicSeconds() - t0
        let train = pair.train, decoded = pair.train.count + pair.test.count
        guard train.count >= batchSize else {
            throw ValidationError("\(dir) has \(train.count) training images, fewer than --batch-size \(batchSize)")
        }
        let stats = train.channelStatistics()
        func loader(_ prefetch: Int) -> DataLoader {
            DataLoader(dataset: train, batchSize: batchSize, shuffle: true, seed: 0, augmentation: .cifar,
                       mean: stats.mean, std: stats.std, dropLast: true, prefetch: prefetch)
        }
        let batchSeconds = timeBatches(loader(0))
        let (stepSeconds, waiting) = trainSteps(loader(prefetch), classes: train.classes)
        let fields: [(String, String)] = [
            ("model", "\"resnet20\""), ("image_size", "\(imageSize)"), ("batch_size", "\(batchSize)"), ("threads", "\(threads)"),
            ("prefetch", "\(prefetch)"), ("images_decoded", "\(decoded)"),
            ("decode_seconds", String(format: "%.3f", decodeSeconds)),
            ("decode_images_per_second", String(format: "%.0f", Double(decoded) / decodeSeconds)),
            ("batch_ms_on_demand", String(format: "%.2f", batchSeconds * 1000)),
            ("step_ms", String(format: "%.1f", stepSeconds * 1000)),
            ("waiting_for_data_fraction", String(format: "%.4f", waiting)),
            ("peak_rss_mb", String(format: "%.1f", peakResidentMegabytes())),
        ]
        print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    }

    /// Mean seconds to make one augmented, normalised batch in this thread (no prefetch), over an epoch.
    private func timeBatches(_ loader: DataLoader) -> Double {
        let n = min(loader.batchesPerEpoch, 8)
        let t = monotonicSeconds()
        for b in 0..<n { _ = loader.batch(epoch: 0, index: b) }
        return (monotonicSeconds() - t) / Double(n)
    }

    /// Mean step seconds and the share of the timed steps spent waiting for `next()` of the loader.
    private func trainSteps(_ loader: DataLoader, classes: Int) -> (Double, Double) {
        var g = Generator(seed: 0)
        let net = ResNetCIFAR(depth: 20, classes: classes, generator: &g)
        var sgd = SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
        let params = net.namedParameters
        var epoch = 0
        var current = loader.epoch(0).makeIterator()
        var waiting = 0.0
        func step() {
            let t = monotonicSeconds()
            var batch = current.next()
            if batch == nil { epoch += 1; current = loader.epoch(epoch).makeIterator(); batch = current.next() }
            waiting += monotonicSeconds() - t
            net.zeroGrad()
            let loss = softmaxCrossEntropy(logits: net(Variable(batch!.images)), labels: batch!.labels)
            loss.backward()
            sgd.step(params)
        }
        for _ in 0..<warmup { step() }
        waiting = 0
        let t0 = monotonicSeconds()
        for _ in 0..<steps { step() }
        let elapsed = monotonicSeconds() - t0
        return (elapsed / Double(steps), waiting / elapsed)
    }
}
