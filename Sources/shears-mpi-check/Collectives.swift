import ShearsData
import ShearsDistributed
import ShearsNN
import ShearsTensor

/// The communicator's collectives under real MPI, each against what every rank can compute alone.
func checkCollectives(comm: Communicator) throws -> [String] {
    var failures: [String] = []
    func expect(_ ok: Bool, _ what: String) { if !ok { failures.append("collectives: \(what)") } }
    let r = comm.rank, n = comm.size, last = n - 1

    expect(try comm.allreduce([r, 1], .sum) == [n * (n - 1) / 2, n], "integer sum")
    expect(try comm.allreduce([Double(r) + 0.5], .max) == [Double(last) + 0.5], "double max")
    expect(try comm.allreduce([Double(r) - 0.25], .min) == [-0.25], "double min")
    var floats: [Float] = [Float(r), 1]
    try floats.withUnsafeMutableBufferPointer { try comm.allreduceMean($0) }
    expect(floats == [Float(n - 1) / 2, 1], "float mean \(floats)")

    // From the last rank (not 0), so that the root argument is honoured; lengths differ between ranks on purpose.
    expect(try comm.broadcast((0..<(r + 2)).map(Double.init), root: last) == (0..<(last + 2)).map(Double.init), "scalars from rank \(last)")
    expect(try comm.broadcast([UInt8](repeating: UInt8(r), count: r), root: last) == [UInt8](repeating: UInt8(last), count: last),
           "bytes from rank \(last)")
    let mine = Tensor(shape: [2, 3, 2, 2], scalars: (0..<24).map { Float($0 + 100 * r) }).channelsLast()
    let got = try comm.broadcast(mine, root: 0)
    expect(got.format == .channelsLast && got.scalars == (0..<24).map(Float.init), "channels-last tensor from rank 0")
    let named = try comm.broadcast(r == 0 ? ["a": Tensor(shape: [2], scalars: [1, 2]), "b": Tensor(3)] : [:])
    expect(named.keys.sorted() == ["a", "b"] && named["a"]!.scalars == [1, 2] && named["b"]!.scalars == [3], "named tensors from rank 0")

    let v = Variable(Tensor(shape: [2], scalars: [1, r == last ? 9 : 1]))
    expect(try comm.differingFromRoot([("same", Variable(Tensor(7))), ("v", v)]) == ["v"], "differingFromRoot finds the odd rank")
    do {
        _ = try comm.reduceScores([r == 0 ? "a" : "b": Tensor(1)])
        expect(false, "reduceScores accepted different names on different ranks")
    } catch {
        expect("\(error)".contains("disagree"), "reduceScores' message: \(error)")
    }
    // Shards of 3 examples over n ranks: w_r = |shard r| / 3; the global mean of the per-rank values r.
    var g = Generator(seed: 1)
    let dp = try DataParallel(model: MLP(inputs: 2, hidden: [], classes: 2, generator: &g), communicator: comm)
    let batch = Batch(images: Tensor.zeros([3, 2]), labels: [0, 1, 0], indices: [0, 1, 2])
    _ = try dp.shard(batch)
    let expected = (0..<n).reduce(0.0) { acc, k in acc + Double(3 * (k + 1) / n - 3 * k / n) / 3 * Double(k) }
    let mean = try dp.globalMean(Double(r))
    expect(abs(mean - expected) < 1e-12, "globalMean \(mean), expected \(expected)")
    return failures
}
