import XCTest
import ShearsNN
import ShearsPrune
import ShearsTensor

final class SelectionTests: XCTestCase {
    private func names(_ s: PrunableSelection) -> [String] {
        var g = Generator(seed: 0)
        return s.select(ResNetCIFAR(depth: 8, generator: &g)).map(\.0)
    }

    private let convs = ["layer1.0.conv1.weight", "layer1.0.conv2.weight", "layer2.0.conv1.weight", "layer2.0.conv2.weight",
                         "layer2.0.shortcut.0.weight", "layer3.0.conv1.weight", "layer3.0.conv2.weight",
                         "layer3.0.shortcut.0.weight"]

    func testDefaultIsEveryConvAndLinearWeight() {
        XCTAssertEqual(PrunableSelection(), PrunableSelection(includeFirstLayer: true, includeLastLayer: true,
                                                              includeBiases: false, includeBatchNormScale: false))
        XCTAssertEqual(names(PrunableSelection()), ["conv1.weight"] + convs + ["fc.weight"])
    }

    func testFirstAndLastLayerFlags() {
        XCTAssertEqual(names(PrunableSelection(includeFirstLayer: false)), convs + ["fc.weight"])
        XCTAssertEqual(names(PrunableSelection(includeLastLayer: false)), ["conv1.weight"] + convs)
        XCTAssertEqual(names(PrunableSelection(includeFirstLayer: false, includeLastLayer: false)), convs)
    }

    func testBiasesAndBatchNormScale() {
        // ResNet convs have no bias; only the classifier's bias joins.
        XCTAssertEqual(names(PrunableSelection(includeBiases: true)), ["conv1.weight"] + convs + ["fc.weight", "fc.bias"])
        XCTAssertEqual(names(PrunableSelection(includeLastLayer: false, includeBiases: true)), ["conv1.weight"] + convs)
        let withBN = names(PrunableSelection(includeBatchNormScale: true))
        XCTAssertEqual(withBN, ["conv1.weight", "bn1.weight",
                                "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.conv2.weight", "layer1.0.bn2.weight",
                                "layer2.0.conv1.weight", "layer2.0.bn1.weight", "layer2.0.conv2.weight", "layer2.0.bn2.weight",
                                "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.weight",
                                "layer3.0.conv1.weight", "layer3.0.bn1.weight", "layer3.0.conv2.weight", "layer3.0.bn2.weight",
                                "layer3.0.shortcut.0.weight", "layer3.0.shortcut.1.weight", "fc.weight"])
    }

    func testMLPSelectsAllLayersAndBiasesOnRequest() {
        var g = Generator(seed: 0)
        let mlp = MLP.lenet300100(generator: &g)
        XCTAssertEqual(PrunableSelection().select(mlp).map(\.0), ["fc1.weight", "fc2.weight", "fc3.weight"])
        XCTAssertEqual(PrunableSelection(includeFirstLayer: false, includeBiases: true).select(mlp).map(\.0),
                       ["fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])
    }

    func testCodable() throws {
        let s = PrunableSelection(includeLastLayer: false, includeBiases: true)
        XCTAssertEqual(try JSONDecoder().decode(PrunableSelection.self, from: JSONEncoder().encode(s)), s)
    }
}
