import XCTest
import ShearsNN
@testable import ShearsPrune
import ShearsTensor

/// The groups traced from the models' forward passes, against the structure read off their definitions.
final class DependencyGroupTests: XCTestCase {
    func group(_ groups: [DependencyGroup], _ name: String) throws -> DependencyGroup {
        try XCTUnwrap(groups.first { $0.name == name }, "no group \(name) in \(groups.map(\.name))")
    }

    func testResNet20StagesAreOneGroupEachAndProjectionsSeparateThem() throws {
        var g = Generator(seed: 0)
        let model = try makeModel(.resnet20, inputShape: [3, 8, 8], classes: 10, generator: &g)
        let groups = try dependencyGroups(of: model, inputShape: [3, 8, 8])
        // 3 stage groups + one inside every block (9) + the classifier (fixed).
        XCTAssertEqual(groups.filter(\.prunable).count, 12)
        let stage1 = try group(groups, "conv1")
        XCTAssertEqual(Set(stage1.producingLayers), ["conv1", "layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2"])
        XCTAssertTrue(stage1.members.contains(GroupMember(name: "layer2.0.shortcut.0.weight", axis: 1, role: .consumer)))
        XCTAssertTrue(stage1.members.contains(GroupMember(name: "layer2.0.conv1.weight", axis: 1, role: .consumer)))
        XCTAssertTrue(stage1.members.contains(GroupMember(name: "bn1.running_var", axis: 0, role: .normalization)))
        let stage2 = try group(groups, "layer2.0.conv2")
        XCTAssertEqual(Set(stage2.producingLayers), ["layer2.0.conv2", "layer2.0.shortcut.0", "layer2.1.conv2", "layer2.2.conv2"])
        XCTAssertEqual(stage2.channels, 32)
        let stage3 = try group(groups, "layer3.0.conv2")
        XCTAssertTrue(stage3.members.contains(GroupMember(name: "fc.weight", axis: 1, role: .consumer)))
        let inner = try group(groups, "layer2.1.conv1")
        XCTAssertEqual(inner.members.map(\.name), ["layer2.1.conv1.weight", "layer2.1.bn1.weight", "layer2.1.bn1.bias",
                                                   "layer2.1.bn1.running_mean", "layer2.1.bn1.running_var", "layer2.1.conv2.weight"])
        let fc = try group(groups, "fc")
        XCTAssertFalse(fc.prunable)
        XCTAssertTrue(fc.fixedBecause!.contains("output"))
    }

    func testFlattenMakesBlocksOfHW() throws {
        var g = Generator(seed: 0)
        let model = ConvNet(depth: 2, inputChannels: 3, imageSize: 8, classes: 5, generator: &g)
        let groups = try dependencyGroups(of: model, inputShape: [3, 8, 8])
        let last = try group(groups, "convs.2")
        // 8×8 pooled once: 4×4 = 16 features per channel.
        XCTAssertTrue(last.members.contains(GroupMember(name: "linear.0.weight", axis: 1, block: 16, role: .consumer)))
        XCTAssertEqual(groups.filter(\.prunable).map(\.name), ["convs.0", "convs.2", "linear.0", "linear.2"])
    }

    func testBottleneckAndWideResNetTies() throws {
        let resnet50 = ThinFamily.all.first { $0.name == "resnet50" }!
        let groups50 = try dependencyGroups(of: resnet50.make([:]), inputShape: resnet50.inputShape)
        // Stage 1 starts with a projection (64 → 256 nominal), so the stem is its own group.
        XCTAssertEqual(try group(groups50, "conv1").producingLayers, ["conv1"])
        XCTAssertEqual(Set(try group(groups50, "layer1.0.conv3").producingLayers),
                       ["layer1.0.conv3", "layer1.0.shortcut.0", "layer1.1.conv3", "layer1.2.conv3"])
        // 4 stages + stem + 2 per block (16 blocks) prunable.
        XCTAssertEqual(groups50.filter(\.prunable).count, 4 + 1 + 32)

        let wrn = ThinFamily.all.first { $0.name == "wrn" }!
        let groupsW = try dependencyGroups(of: wrn.make([:]), inputShape: wrn.inputShape)
        // Pre-activation: the next block's bn1 normalises the stage's channels; the final bn1 too.
        let stage3 = try group(groupsW, "layer3.0.conv2")
        XCTAssertTrue(stage3.members.contains(GroupMember(name: "bn1.weight", axis: 0, role: .normalization)))
        XCTAssertTrue(stage3.members.contains(GroupMember(name: "linear.weight", axis: 1, role: .consumer)))
        XCTAssertTrue(stage3.members.contains(GroupMember(name: "layer3.0.shortcut.0.bias", axis: 0, role: .producer)))
    }

    func testMLPInputAndOutputAreFixed() throws {
        var g = Generator(seed: 0)
        let model = MLP(inputs: 12, hidden: [8, 6], classes: 3, generator: &g)
        let groups = try dependencyGroups(of: model, inputShape: [3, 2, 2])
        XCTAssertEqual(groups.map(\.name), ["fc1", "fc2", "fc3"])
        XCTAssertEqual(groups.map(\.prunable), [true, true, false])
        XCTAssertEqual(groups[0].channels, 8)
    }

    func testExplainListsGroups() throws {
        var g = Generator(seed: 0)
        let groups = try dependencyGroups(of: MLP(inputs: 4, hidden: [3], classes: 2, generator: &g), inputShape: [4])
        XCTAssertEqual(groups.count, 2)
    }
}
