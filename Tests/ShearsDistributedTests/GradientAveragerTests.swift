// The averager's own bookkeeping, without MPI: a communicator that claims two ranks but has no MPI behind it
// reduces as the identity, so after `finish` every gradient must be exactly w·(its local gradient) — staged
// through the hooks during backward into buckets, started in order and written back — and a parameter that
// backward never reached must come back as zeros.

import XCTest
import ShearsData
@testable import ShearsDistributed
import ShearsNN
import ShearsTensor

final class GradientAveragerTests: XCTestCase {
    private func model(seed: UInt64) -> (ResNetCIFAR, Variable) {
        var g = Generator(seed: seed)
        return (ResNetCIFAR(depth: 8, width: 4, generator: &g), Variable(Tensor.zeros([3]), requiresGrad: true))
    }

    func testGradientsAreScaledThroughTheHooksAndUnusedOnesZeroed() throws {
        var g = Generator(seed: 21)
        let x = Tensor.normal([4, 3, 8, 8], generator: &g), labels: [Int32] = [1, 0, 3, 2]
        let (plain, _) = model(seed: 5), (hooked, unused) = model(seed: 5)
        softmaxCrossEntropy(logits: plain(Variable(x)), labels: labels).backward()

        let twoRanks = Communicator(rank: 0, size: 2, usesMPI: false)
        // First in registration order, so last in backward order: its bucket is the last, the only one it holds
        // back (buckets start in order, so an unreached parameter delays every bucket after its own).
        let params = [("unused", unused)] + hooked.namedParameters
        let averager = try GradientAverager(parameters: params, communicator: twoRanks, bucketBytes: 512)
        XCTAssertGreaterThan(averager.bucketBytes.count, 3)
        for step in 0..<2 {   // twice: buckets are reset between steps
            hooked.zeroGrad()
            averager.begin(lossShare: 0.5)
            softmaxCrossEntropy(logits: hooked(Variable(x)), labels: labels).backward()
            try averager.finish()
            XCTAssertEqual(averager.lastTiming.launchedDuringBackward, averager.lastTiming.buckets - 1,
                           "step \(step): every bucket but the one holding the unused parameter starts during backward")
            for ((name, a), (_, b)) in zip(plain.namedParameters, hooked.namedParameters) {
                XCTAssertEqual(b.grad!.shape, a.grad!.shape, name)
                XCTAssertEqual(b.grad!.scalars, a.grad!.in(a.value.format).scalars.map { 0.5 * $0 }, "step \(step): \(name)")
            }
            XCTAssertEqual(unused.grad?.scalars, [0, 0, 0], "an unreached parameter contributes and receives zeros")
        }
    }

    func testHooksAreRemovedWithTheAverager() throws {
        let (net, _) = model(seed: 6)
        var averager: GradientAverager? = try GradientAverager(parameters: net.namedParameters,
                                                               communicator: Communicator(rank: 0, size: 2, usesMPI: false))
        XCTAssertTrue(net.namedParameters.allSatisfy { $0.1.onGradientReady != nil })
        averager = nil
        XCTAssertNil(averager)
        XCTAssertTrue(net.namedParameters.allSatisfy { $0.1.onGradientReady == nil })
    }
}
