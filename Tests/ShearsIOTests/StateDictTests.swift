import Foundation
import XCTest
import ShearsIO
import ShearsNN
import ShearsTensor

final class StateDictTests: XCTestCase {
    /// A ResNet-8 whose batch-norm buffers have moved away from their initial values.
    private func trainedResNet8(seed: UInt64, classes: Int = 10) -> ResNetCIFAR {
        var g = Generator(seed: seed)
        let net = ResNetCIFAR(depth: 8, classes: classes, generator: &g)
        for _ in 0..<2 {
            let x = Variable(Tensor.normal([4, 3, 32, 32], generator: &g))
            _ = Context.with(.training) { GradMode.withoutGrad { net(x) } }
        }
        return net
    }

    private func snapshot(_ model: any Layer) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.stateDict.map { ($0.0, $0.1.value.scalars) })
    }

    func testSaveLoadRoundTripGivesIdenticalOutputs() throws {
        let path = try makeTempDir(self) + "/resnet8.safetensors"
        let a = trainedResNet8(seed: 1)
        XCTAssertEqual(a.stateDict.first { $0.0 == "bn1.num_batches_tracked" }?.1.value.scalar, 2)
        try saveStateDict(a, to: path, metadata: ["epoch": "3"])

        let file = try SafetensorsFile.read(path: path)
        XCTAssertEqual(Set(file.tensors.keys), Set(a.stateDict.map(\.0)))
        XCTAssertEqual(file.metadata, ["epoch": "3", "format": "pt"])
        for (name, _) in a.stateDict {
            XCTAssertEqual(file.dtypes[name], name.hasSuffix("num_batches_tracked") ? .I64 : .F32, name)
        }
        XCTAssertEqual(file.tensors["layer2.0.bn1.num_batches_tracked"]?.shape, [])

        var g = Generator(seed: 99)
        let b = ResNetCIFAR(depth: 8, generator: &g)
        let x = Variable(Tensor.normal([3, 3, 32, 32], generator: &g))
        let before = Context.with(.inference) { GradMode.withoutGrad { b(x) } }.value.scalars
        let expected = Context.with(.inference) { GradMode.withoutGrad { a(x) } }.value.scalars
        XCTAssertNotEqual(before, expected)

        try loadStateDict(b, from: path)
        XCTAssertEqual(snapshot(b), snapshot(a))
        let after = Context.with(.inference) { GradMode.withoutGrad { b(x) } }.value.scalars
        XCTAssertEqual(after, expected, "identical outputs in inference mode after loading")
    }

    func testStrictLoadListsEveryMismatchAndModifiesNothing() throws {
        let dir = try makeTempDir(self)
        let source = trainedResNet8(seed: 1)
        let path = dir + "/edited.safetensors"
        try saveStateDict(source, to: path)
        var file = try SafetensorsFile.read(path: path)
        file.tensors["bn1.running_mean"] = nil
        file.dtypes["bn1.running_mean"] = nil
        file.tensors["bogus.weight"] = Tensor(shape: [2], repeating: 1)
        file.tensors["layer1.0.conv1.weight"] = Tensor(shape: [16, 16, 1, 1], repeating: 0)
        try file.write(path: path)

        var g = Generator(seed: 5)
        let target = ResNetCIFAR(depth: 8, classes: 7, generator: &g)   // fc is [7, 64] here, [10, 64] in the file
        let before = snapshot(target)
        do {
            try loadStateDict(target, from: path)
            XCTFail("expected an error")
        } catch let e as IOError {
            XCTAssertEqual(e.path, path)
            let m = e.message
            XCTAssertTrue(m.contains("Missing key(s) in state_dict: \"bn1.running_mean\"."), m)
            XCTAssertTrue(m.contains("Unexpected key(s) in state_dict: \"bogus.weight\"."), m)
            XCTAssertTrue(m.contains("size mismatch for fc.weight: copying a param with shape [10, 64] from checkpoint, the shape in current model is [7, 64]."), m)
            XCTAssertTrue(m.contains("size mismatch for fc.bias"), m)
            XCTAssertTrue(m.contains("size mismatch for layer1.0.conv1.weight: copying a param with shape [16, 16, 1, 1]"), m)
            XCTAssertTrue(m.contains("nothing was loaded"), m)
        }
        XCTAssertEqual(snapshot(target), before, "a failed load leaves the model untouched")
    }

    func testIgnoringPrefixesAndExtras() throws {
        let dir = try makeTempDir(self)
        let source = trainedResNet8(seed: 1)
        let path = dir + "/with-masks.safetensors"
        let mask = Tensor(shape: [10, 64], repeating: 1)
        try saveStateDict(source, to: path, extra: ["mask.fc.weight": mask])
        XCTAssertEqual(try SafetensorsFile.read(path: path).tensors["mask.fc.weight"]?.scalars, mask.scalars)

        var g = Generator(seed: 7)
        let same = ResNetCIFAR(depth: 8, generator: &g)
        assertIOError(path, ["Unexpected key(s) in state_dict: \"mask.fc.weight\"."]) { try loadStateDict(same, from: path) }
        try loadStateDict(same, from: path, ignoringPrefixes: ["mask."])
        XCTAssertEqual(snapshot(same), snapshot(source))

        // A backbone under a new classifier: "fc." is neither loaded nor checked.
        let sevenClass = ResNetCIFAR(depth: 8, classes: 7, generator: &g)
        let fcBefore = sevenClass.fc.weight.value.scalars
        try loadStateDict(sevenClass, from: path, ignoringPrefixes: ["mask.", "fc."])
        XCTAssertEqual(sevenClass.fc.weight.value.scalars, fcBefore)
        XCTAssertEqual(sevenClass.conv1.weight.value.scalars, source.conv1.weight.value.scalars)

        assertIOError(dir + "/clash.safetensors", ["extra tensor \"fc.bias\""]) {
            try saveStateDict(source, to: dir + "/clash.safetensors", extra: ["fc.bias": Tensor(1)])
        }
        assertIOError(dir + "/absent.safetensors", ["no such file"]) { try loadStateDict(same, from: dir + "/absent.safetensors") }
    }

    func testLoadsPyTorchStyleStateDictWithInt64Counters() throws {
        // A state_dict as torch.save(model.state_dict()) → safetensors would hold it: an MLP's Linear layers.
        let dir = try makeTempDir(self)
        var g = Generator(seed: 1)
        let net = MLP.lenet300100(generator: &g)
        let path = dir + "/mlp.safetensors"
        var tensors: [String: Tensor] = [:]
        for (name, v) in net.stateDict { tensors[name] = Tensor(shape: v.value.shape, repeating: 0.25) }
        try SafetensorsFile.write(path: path, tensors: tensors, metadata: ["format": "pt"])
        try loadStateDict(net, from: path)
        XCTAssertTrue(net.stateDict.allSatisfy { $0.1.value.scalars.allSatisfy { $0 == 0.25 } })
    }
}
