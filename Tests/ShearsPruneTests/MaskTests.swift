import XCTest
import ShearsNN
import ShearsPrune
import ShearsTensor

final class MaskTests: XCTestCase {
    func testOnesApplyAndMaskGradients() {
        let w = Variable(tensor([2, 2], [1, -2, 3, -4]), requiresGrad: true)
        let b = Variable(tensor([2], [5, 6]), requiresGrad: true)
        let params = [("fc.weight", w), ("fc.bias", b)]
        var mask = Mask.ones(for: [("fc.weight", w)])
        XCTAssertEqual(mask.names, ["fc.weight"])
        XCTAssertEqual(mask.density, 1)
        mask["fc.weight"] = tensor([2, 2], [1, 0, 0, 1])
        XCTAssertEqual(mask.remaining, 2)
        XCTAssertEqual(mask.total, 4)
        XCTAssertEqual(mask.sparsity, 0.5)
        w.grad = tensor([2, 2], [0.1, 0.2, 0.3, 0.4])
        b.grad = tensor([2], [1, 1])
        mask.apply(to: params)
        mask.maskGradients(of: params)
        XCTAssertEqual(w.value.scalars, [1, 0, 0, -4])
        XCTAssertEqual(w.grad!.scalars, [0.1, 0, 0, 0.4])
        XCTAssertEqual(b.value.scalars, [5, 6], "unmasked parameters are untouched")
        XCTAssertEqual(b.grad!.scalars, [1, 1])
    }

    /// Keeping pruned weights at 0 gives the same forward as ShrinkBench's `w ⊙ m` (`Mask.masked`).
    func testZeroedWeightsEqualMaskedForward() {
        var g = Generator(seed: 3)
        let model = MLP(inputs: 6, hidden: [5], classes: 3, generator: &g)
        let x = Variable(Tensor.normal([4, 6], generator: &g))
        let sel = PrunableSelection().select(model)
        let mask = prune(scores: try! RandomScore(seed: 9).scores(model: model, parameters: sel, mask: .ones(for: sel)),
                         mask: .ones(for: sel), fraction: 0.5, allocation: .global, shapes: [:])
        let l1 = model.layers[0], l2 = model.layers[1]
        let explicit = linear(relu(linear(x, weight: mask.masked(l1.weight, name: "fc1.weight"), bias: l1.bias)),
                              weight: mask.masked(l2.weight, name: "fc2.weight"), bias: l2.bias)
        mask.apply(to: sel)
        XCTAssertEqual(model(x).value.scalars, explicit.value.scalars)
    }

    /// What checkpoints store: `mask/<name>` entries in a `[String: Tensor]`.
    func testCheckpointRoundTrip() throws {
        let mask = Mask(["layer1.0.conv1.weight": tensor([1, 1, 1, 2], [0, 1]), "fc.weight": tensor([2, 1], [1, 0])])
        let entries = mask.checkpointEntries
        XCTAssertEqual(Set(entries.keys), ["mask/layer1.0.conv1.weight", "mask/fc.weight"])
        var stored = entries
        stored["model/fc.weight"] = tensor([2, 1], [3, 4])   // other checkpoint keys are ignored
        let back = try Mask(checkpointEntries: stored)
        XCTAssertEqual(back, mask)
        XCTAssertThrowsError(try Mask(checkpointEntries: ["mask/x": tensor([1], [0.5])]))
    }

    func testValidateAgainstParameters() {
        let w = Variable(Tensor.zeros([2, 3]), requiresGrad: true)
        XCTAssertNoThrow(try Mask.ones(for: [("w", w)]).validate(against: [("w", w)]))
        XCTAssertThrowsError(try Mask(["v": .ones([2, 3])]).validate(against: [("w", w)]))
        XCTAssertThrowsError(try Mask(["w": .ones([3, 2])]).validate(against: [("w", w)]))
    }
}
