// Synchronised batch norm (Ops/SyncBatchNorm.swift) without MPI: a synchroniser that stands for the other
// replicas with fixed statistics of their own and a zero upstream gradient (the loss differentiated here is this
// replica's alone), so finite differences of the Double reference check the global-statistics backward; and one
// with no other replica, where synchronised batch norm must be ordinary training-mode batch norm.

import XCTest
@testable import ShearsTensor

/// Adds a phantom replica's sums: `count` values per channel with mean `mean` and biased variance `variance`.
final class PhantomReplica: BatchNormSynchronizer {
    let count: Double, mean: [Double], variance: [Double]
    let lossShare: Double
    private(set) var calls = 0

    init(count: Double, mean: [Double], variance: [Double], lossShare: Double = 1) {
        self.count = count; self.mean = mean; self.variance = variance; self.lossShare = lossShare
    }

    func sumOverReplicas(_ values: [Double]) -> [Double] {
        calls += 1
        let c = mean.count
        guard values.count == 2 * c + 1 else { return values }   // backward sums: the phantom's upstream is zero
        var out = values
        for k in 0..<c {
            out[k] += count * mean[k]
            out[c + k] += count * (variance[k] + mean[k] * mean[k])
        }
        out[2 * c] += count
        return out
    }
}

final class SyncBatchNormTests: XCTestCase {
    /// Batch norm of x with the statistics of x and the phantom's values together.
    private func reference(_ x: [Double], _ shape: [Int], gamma: [Double], beta: [Double], phantom: PhantomReplica?) -> [Double] {
        let local = Ref.batchStats(x, shape)
        guard let p = phantom else {
            return Ref.normalize(x, shape, mean: local.mean, variance: local.biasedVar, gamma: gamma, beta: beta, eps: 1e-5)
        }
        let m = Double(x.count / shape[1]), total = m + p.count
        var mean = local.mean, variance = local.biasedVar
        for k in mean.indices {
            let mu = (m * local.mean[k] + p.count * p.mean[k]) / total
            let second = (m * (local.biasedVar[k] + local.mean[k] * local.mean[k]) + p.count * (p.variance[k] + p.mean[k] * p.mean[k])) / total
            mean[k] = mu; variance[k] = second - mu * mu
        }
        return Ref.normalize(x, shape, mean: mean, variance: variance, gamma: gamma, beta: beta, eps: 1e-5)
    }

    private func check(_ shape: [Int], channelsLast: Bool = false, fusedReLU: Bool = false, phantom: Bool, _ g: inout Generator,
                       file: StaticString = #filePath, line: UInt = #line) {
        let c = shape[1]
        var x = randomTensor(shape, &g, low: -1.5, high: 2.5)
        if channelsLast { x = x.channelsLast() }
        let gamma = randomTensor([c], &g, low: 0.5, high: 1.5), beta = randomTensor([c], &g, low: -0.5, high: 0.5)
        let other = phantom ? PhantomReplica(count: 7, mean: (0..<c).map { 0.3 * Double($0) - 0.2 },
                                             variance: (0..<c).map { 0.5 + 0.25 * Double($0) }) : nil
        let sync = other ?? PhantomReplica(count: 0, mean: .init(repeating: 0, count: c), variance: .init(repeating: 0, count: c))
        let label = "syncBatchNorm\(fusedReLU ? "ReLU" : "") \(shape)\(channelsLast ? " channelsLast" : "")\(phantom ? " + phantom replica" : "")"
        checkOp(label, inputs: [OpInput("x", x), OpInput("gamma", gamma), OpInput("beta", beta)], generator: &g,
                op: { v in
                    batchNorm(v[0], weight: v[1], bias: v[2], runningMean: Variable(.zeros([c])), runningVar: Variable(.ones([c])),
                              phase: .training, fusedReLU: fusedReLU, sync: sync)
                },
                reference: { d in
                    let y = self.reference(d[0], shape, gamma: d[1], beta: d[2], phantom: other)
                    return fusedReLU ? Ref.relu(y) : y
                }, file: file, line: line)
        XCTAssertGreaterThan(sync.calls, 0, "\(label): the synchroniser was never asked", file: file, line: line)
    }

    func testGradientsWithAnotherReplicasStatistics() {
        var g = Generator(seed: 41)
        check([4, 3, 3, 3], phantom: true, &g)
        check([4, 3, 3, 3], channelsLast: true, phantom: true, &g)
        check([6, 3], phantom: true, &g)
    }

    func testFusedReLUGradientsWithAnotherReplicasStatistics() {
        var g = Generator(seed: 42)
        check([4, 3, 3, 3], fusedReLU: true, phantom: true, &g)
        check([4, 3, 3, 3], channelsLast: true, fusedReLU: true, phantom: true, &g)
    }

    /// Alone, synchronised batch norm is ordinary training-mode batch norm (values and gradients).
    func testOneReplicaIsOrdinaryBatchNorm() {
        var g = Generator(seed: 43)
        check([4, 3, 3, 3], phantom: false, &g)
        check([5, 4], fusedReLU: true, phantom: false, &g)
    }

    /// Running statistics take the global mean and the global variance × M/(M − 1).
    func testRunningStatisticsUseGlobalStatistics() {
        var g = Generator(seed: 44)
        let x = randomTensor([4, 2, 2, 2], &g), c = 2
        let p = PhantomReplica(count: 16, mean: [1, -1], variance: [2, 0.5])
        let rm = Variable(.zeros([c])), rv = Variable(.ones([c]))
        _ = batchNorm(Variable(x), weight: Variable(.ones([c])), bias: Variable(.zeros([c])), runningMean: rm, runningVar: rv,
                      phase: .training, momentum: 1, sync: p)
        let local = Ref.batchStats(x.doubles, x.shape), m = 16.0, total = 32.0
        for k in 0..<c {
            let mu = (m * local.mean[k] + 16 * p.mean[k]) / total
            let second = (m * (local.biasedVar[k] + local.mean[k] * local.mean[k]) + 16 * (p.variance[k] + p.mean[k] * p.mean[k])) / total
            XCTAssertEqual(Double(rm.value.scalars[k]), mu, accuracy: 1e-5)
            XCTAssertEqual(Double(rv.value.scalars[k]), (second - mu * mu) * total / (total - 1), accuracy: 1e-5)
        }
    }
}
