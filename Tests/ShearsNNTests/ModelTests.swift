import XCTest
import ShearsNN
import ShearsOptim
import ShearsTensor

final class ModelTests: XCTestCase {
    func testLeNet300100NamesAndCount() {
        var g = Generator(seed: 1)
        let net = MLP.lenet300100(generator: &g)
        XCTAssertEqual(net.namedParameters.map(\.0), ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])
        // 784·300 + 300 + 300·100 + 100 + 100·10 + 10 (LeCun et al. 1998; Frankle & Carbin 2019: 266k).
        XCTAssertEqual(net.parameterCount, 266_610)
        XCTAssertEqual(net.namedParameters[0].1.shape, [300, 784])
    }

    func testResNet20NamesMatchPyTorchStateDict() {
        var g = Generator(seed: 1)
        let net = ResNetCIFAR(depth: 20, generator: &g)
        // He et al. (2016) report 0.27M parameters for ResNet-20; with 1×1 projection shortcuts it is 272,474.
        XCTAssertEqual(net.parameterCount, 272_474)
        let names = net.stateDict.map(\.0)
        XCTAssertEqual(Set(names).count, names.count, "state_dict names must be unique")
        for expected in ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                         "bn1.num_batches_tracked", "layer1.0.conv1.weight", "layer1.2.bn2.bias",
                         "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.running_var", "layer3.2.conv2.weight",
                         "fc.weight", "fc.bias"] {
            XCTAssertTrue(names.contains(expected), "missing \(expected)")
        }
        XCTAssertFalse(names.contains("layer1.0.shortcut.0.weight"), "stage 1 blocks keep identity shortcuts")
        XCTAssertEqual(net.namedParameters.first { $0.0 == "layer2.0.shortcut.0.weight" }?.1.shape, [32, 16, 1, 1])
        // 19 convolutions + 2 shortcut convolutions, 19 + 2 batch norms with 3 buffers each.
        XCTAssertEqual(net.namedBuffers.count, 21 * 3)
    }

    func testResNetDepthsAndShapes() {
        var g = Generator(seed: 2)
        let net = ResNetCIFAR(depth: 8, classes: 7, generator: &g)
        let x = Variable(Tensor.normal([2, 3, 32, 32], generator: &g))
        let y = Context.with(.inference) { net(x) }
        XCTAssertEqual(y.shape, [2, 7])
        XCTAssertTrue(y.value.isFinite)
    }

    func testSameSeedSameWeights() {
        var g1 = Generator(seed: 7), g2 = Generator(seed: 7)
        let a = ResNetCIFAR(depth: 8, generator: &g1), b = ResNetCIFAR(depth: 8, generator: &g2)
        for ((na, pa), (nb, pb)) in zip(a.namedParameters, b.namedParameters) {
            XCTAssertEqual(na, nb)
            XCTAssertEqual(pa.value.scalars, pb.value.scalars)
        }
    }

    func testBatchNormPhases() {
        let bn = BatchNorm(3)
        var g = Generator(seed: 3)
        let x = Variable(Tensor.normal([4, 3, 5, 5], mean: 2, std: 3, generator: &g))
        let yTrain = bn(x)
        XCTAssertEqual(Double(yTrain.value.mean()), 0, accuracy: 1e-4, "training normalises with batch statistics")
        XCTAssertEqual(bn.numBatchesTracked.value.scalar, 1)
        let yEval = Context.with(.inference) { bn(x) }
        XCTAssertEqual(bn.numBatchesTracked.value.scalar, 1, "inference does not count batches")
        XCTAssertGreaterThan(abs(yEval.value.mean()), 0.1, "inference uses running statistics")
    }

    /// End to end: a small MLP on a linearly separable synthetic problem must drive the loss down.
    func testTrainingReducesLoss() {
        var g = Generator(seed: 11)
        let net = MLP(inputs: 8, hidden: [16], classes: 2, generator: &g)
        let xs = Tensor.normal([64, 8], generator: &g)
        let labels = (0..<64).map { i in Int32(xs[i, 0] + xs[i, 1] > 0 ? 1 : 0) }
        var opt = SGD(learningRate: 0.1, momentum: 0.9)
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            net.zeroGrad()
            let loss = softmaxCrossEntropy(logits: net(Variable(xs)), labels: labels)
            loss.backward()
            opt.step(net.namedParameters)
            if step == 0 { first = loss.value.scalar }
            last = loss.value.scalar
        }
        XCTAssertLessThan(last, first * 0.5, "loss \(first) → \(last)")
        let acc = accuracy(logits: net(Variable(xs)).value, labels: labels)
        XCTAssertGreaterThan(acc, 0.9)
    }

    /// The tape is released after every backward pass: memory stays flat across steps.
    func testMemoryFlatAcrossSteps() {
        var g = Generator(seed: 5)
        let net = ResNetCIFAR(depth: 8, generator: &g)
        let x = Variable(Tensor.normal([4, 3, 32, 32], generator: &g))
        let labels: [Int32] = [0, 1, 2, 3]
        var opt = SGD(learningRate: 0.01, momentum: 0.9)
        weak var weakLoss: Variable?
        for _ in 0..<3 {
            net.zeroGrad()
            let loss = softmaxCrossEntropy(logits: net(x), labels: labels)
            loss.backward()
            opt.step(net.namedParameters)
            weakLoss = loss
        }
        XCTAssertNil(weakLoss, "the graph of a finished step must be freed")
    }
}
