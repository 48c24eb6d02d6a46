// Variable.onGradientReady: fired once per backward pass for each hooked variable, when its gradient is final,
// before the walk has finished; and a backward pass with hooks computes exactly what one without computes.

import XCTest
@testable import ShearsTensor

final class GradientReadyHookTests: XCTestCase {
    /// A three-layer chain where w1 is used twice (a shared weight), so its gradient has two contributions.
    private func forward(_ x: Variable, _ w1: Variable, _ w2: Variable, _ w3: Variable) -> Variable {
        let h1 = relu(linear(x, weight: w1))
        let h2 = relu(linear(h1, weight: w2))
        let h3 = linear(add(h2, linear(h1, weight: w1)), weight: w3)
        return sum(mul(h3, h3))
    }

    private func weights(_ g: inout Generator) -> [Variable] {
        [Variable(randomTensor([5, 5], &g), requiresGrad: true), Variable(randomTensor([5, 5], &g), requiresGrad: true),
         Variable(randomTensor([3, 5], &g), requiresGrad: true)]
    }

    func testFiresOnceWithTheFinalGradientLastLayerFirst() {
        var g = Generator(seed: 5)
        let x = Variable(randomTensor([4, 5], &g))
        let ws = weights(&g)
        var fired: [(Int, [Float])] = []
        for (i, w) in ws.enumerated() { w.onGradientReady = { v in fired.append((i, v.grad!.scalars)) } }
        forward(x, ws[0], ws[1], ws[2]).backward()
        XCTAssertEqual(fired.map(\.0), [2, 1, 0], "hooks fire as gradients become final: w3, then w2, then the shared w1")
        for (i, seen) in fired {
            XCTAssertEqual(seen, ws[i].grad!.scalars, "w\(i + 1): the gradient at the hook is the final one")
        }
    }

    func testHooksDoNotChangeGradients() {
        var g1 = Generator(seed: 6), g2 = Generator(seed: 6)
        let x = Variable(randomTensor([4, 5], &g1)); _ = randomTensor([4, 5], &g2)
        let plain = weights(&g1), hooked = weights(&g2)
        for w in hooked { w.onGradientReady = { _ in } }
        forward(x, plain[0], plain[1], plain[2]).backward()
        forward(x, hooked[0], hooked[1], hooked[2]).backward()
        for (a, b) in zip(plain, hooked) { XCTAssertEqual(a.grad!.scalars, b.grad!.scalars) }
    }

    func testUnreachedVariableNeverFiresAndReachedRootDoes() {
        var g = Generator(seed: 7)
        let ws = weights(&g)
        let unused = Variable(randomTensor([2], &g), requiresGrad: true)
        var count = 0
        unused.onGradientReady = { _ in count += 1 }
        ws[0].onGradientReady = { _ in count += 10 }
        forward(Variable(randomTensor([4, 5], &g)), ws[0], ws[1], ws[2]).backward()
        XCTAssertEqual(count, 10, "only the reached, hooked variable fires, once")
        let leaf = Variable(Tensor(2), requiresGrad: true)
        leaf.onGradientReady = { v in count += Int(v.grad!.scalar) }
        leaf.backward()
        XCTAssertEqual(count, 11, "a hooked root with no inputs fires with its seed gradient")
    }
}
