import Foundation
import ShearsData
import ShearsDistributed
import ShearsNN
import ShearsOptim
import ShearsTensor

/// `bench --model lenet|resnet20 --batch B --steps S --threads T [--bucket-kb K]`: the same global batch of
/// random images, split over the ranks; every step times forward + backward, a barrier (how late the slowest
/// rank is), and how long `averageGradients` then waits. The step time excludes the barrier. Run twice: with the allreduces started during backward (overlap) and all of them after it; the
/// second's wait is the whole allreduce time, so overlap = 1 − wait(overlapped) / wait(after). One JSON line
/// (medians over the timed steps) from rank 0.
func runBench(_ args: [String], comm: Communicator) throws -> Int32 {
    let flags = try parseFlags(args, defaults: ["model": "lenet", "batch": "128", "steps": "10", "threads": "1",
                                                "warmup": "2", "bucket-kb": "1024"])
    guard let batch = Int(flags["batch"]!), let steps = Int(flags["steps"]!), let threads = Int(flags["threads"]!),
          let warmup = Int(flags["warmup"]!), let bucketKB = Int(flags["bucket-kb"]!),
          batch >= comm.size, steps >= 1, (1...256).contains(threads), warmup >= 0, bucketKB >= 1 else {
        throw DistributedError("bench: --batch (≥ ranks), --steps (≥ 1), --threads (1…256), --warmup (≥ 0) and --bucket-kb (≥ 1) must be integers, got \(flags)")
    }
    Threads.set(threads)
    var g = Generator(seed: 3)
    let model: any Layer, shape: [Int]
    switch flags["model"]! {
    case "lenet": model = MLP.lenet300100(generator: &g); shape = [batch, 1, 28, 28]
    case "resnet20": model = ResNetCIFAR(depth: 20, generator: &g); shape = [batch, 3, 32, 32]
    case let other: throw DistributedError("bench: --model must be lenet or resnet20, got \(other)")
    }
    let global = Batch(images: Tensor.normal(shape, generator: &g),
                       labels: (0..<batch).map { _ in Int32(g.nextInt(below: 10)) }, indices: Array(0..<batch))
    let overlapped = try timeSteps(model, global, comm: comm, overlap: true, steps: steps, warmup: warmup, bucketKB: bucketKB)
    let after = try timeSteps(model, global, comm: comm, overlap: false, steps: steps, warmup: warmup, bucketKB: bucketKB)
    if comm.isWriter {
        let allreduce = after.wait, exposed = overlapped.wait
        let overlap = allreduce > 0 ? max(0, 1 - exposed / allreduce) : 0
        print(String(format: "{\"model\":\"%@\",\"ranks\":%d,\"threads\":%d,\"batch\":%d,\"params\":%d,\"buckets\":%d,"
                     + "\"step_ms\":%.2f,\"step_ms_no_overlap\":%.2f,\"backward_ms\":%.2f,\"allreduce_ms\":%.3f,"
                     + "\"exposed_ms\":%.3f,\"skew_ms\":%.2f,\"overlap\":%.2f,\"started_in_backward\":%d,\"img_per_s\":%.1f}",
                     flags["model"]!, comm.size, threads, batch, model.parameterCount, overlapped.buckets,
                     overlapped.step * 1e3, after.step * 1e3, overlapped.backward * 1e3, allreduce * 1e3,
                     exposed * 1e3, overlapped.skew * 1e3, overlap, overlapped.startedInBackward, Double(batch) / overlapped.step))
    }
    return 0
}

/// Medians: step without the barrier, forward + backward, the wait after the barrier, the barrier (rank skew).
struct StepTimes { var step = 0.0, backward = 0.0, wait = 0.0, skew = 0.0, buckets = 0, startedInBackward = 0 }

func timeSteps(_ model: any Layer, _ global: Batch, comm: Communicator, overlap: Bool, steps: Int, warmup: Int,
               bucketKB: Int) throws -> StepTimes {
    let dp = try DataParallel(model: model, communicator: comm, bucketBytes: bucketKB << 10, overlap: overlap)
    var sgd = SGD(learningRate: 0.01, momentum: 0.9)
    var step: [Double] = [], backward: [Double] = [], wait: [Double] = [], skew: [Double] = [], started = 0
    for k in 0..<(warmup + steps) {
        try comm.barrier()
        let t0 = seconds()
        let shard = try dp.shard(global)
        model.zeroGrad()
        dp.beginBackward()
        softmaxCrossEntropy(logits: model(Variable(shard.batch.images)), labels: shard.batch.labels).backward()
        let t1 = seconds()
        // Wait for the slowest rank first, so that the wait below is communication, not another rank's lateness
        // (on a shared machine a rank loses its core for milliseconds); in-flight reductions progress here too.
        try comm.barrier()
        let t2 = seconds()
        try dp.averageGradients()
        let t3 = seconds()
        sgd.step(model.namedParameters)
        let t4 = seconds()
        guard k >= warmup else { continue }
        step.append(t4 - t0 - (t2 - t1)); backward.append(t1 - t0); wait.append(t3 - t2); skew.append(t2 - t1)
        started = dp.averager.lastTiming.launchedDuringBackward
    }
    return StepTimes(step: median(step), backward: median(backward), wait: median(wait), skew: median(skew), buckets: dp.averager.bucketBytes.count,
                     startedInBackward: started)
}

/// `allreduce-sweep`: blocking MPI_Allreduce of 1 float … 4M floats (16 MB), median of 30 after 5 warm-ups;
/// JSON lines, then the α–β (latency–bandwidth) model fitted to them.
func runAllreduceSweep(comm: Communicator) throws -> Int32 {
    var points: [(Double, Double)] = []
    var floats = 1
    while floats <= 1 << 22 {
        var buffer = [Float](repeating: 1, count: floats), times: [Double] = []
        for k in 0..<35 {
            try comm.barrier()
            let t0 = seconds()
            try buffer.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) }
            if k >= 5 { times.append(seconds() - t0) }
        }
        let t = try comm.allreduce([median(times)], .max)[0]
        points.append((Double(floats * 4), t))
        if comm.isWriter { print(String(format: "{\"ranks\":%d,\"bytes\":%d,\"allreduce_us\":%.2f}", comm.size, floats * 4, t * 1e6)) }
        floats *= 4
    }
    // Hockney's model t(n) = α + n/B: α is the smallest message's time; B the median over messages of ≥ 64 KB
    // of n / (t − α) (a median, since one preempted size on a shared machine would swing a least-squares fit).
    let alpha = points[0].1
    let rates = points.filter { $0.0 >= 65536 && $0.1 > alpha }.map { $0.0 / ($0.1 - alpha) }
    if comm.isWriter {
        print(String(format: "{\"ranks\":%d,\"model\":\"t = alpha + bytes/bandwidth\",\"alpha_us\":%.2f,\"bandwidth_GBps\":%.3f}",
                     comm.size, alpha * 1e6, median(rates) * 1e-9))
    }
    return 0
}

func parseFlags(_ args: [String], defaults: [String: String]) throws -> [String: String] {
    var out = defaults, i = 0
    while i < args.count {
        guard args[i].hasPrefix("--"), i + 1 < args.count, defaults[String(args[i].dropFirst(2))] != nil else {
            throw DistributedError("unknown or incomplete flag \(args[i]); flags: \(defaults.keys.sorted().map { "--\($0)" })")
        }
        out[String(args[i].dropFirst(2))] = args[i + 1]
        i += 2
    }
    return out
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return 0 }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
