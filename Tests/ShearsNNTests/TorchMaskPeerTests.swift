import Foundation
import ShearsIO
import ShearsNN
import ShearsTensor
import XCTest

/// docs/export.md's recipe for continuing in PyTorch: a pruned LeNet-300-100 (model file with its normalisation, mask
/// file as `prune iterative` writes them) loads into a PyTorch module of the same names, gives Shears' outputs, and
/// `torch.nn.utils.prune.custom_from_mask` keeps its pruned weights at 0 through training (the venv's torch).
final class TorchMaskPeerTests: XCTestCase {
    func testPyTorchTrainsThePrunedModelUnderItsMask() throws {
        var g = Generator(seed: 21)
        let net = try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g)
        var masks: [String: Tensor] = [:]
        for (name, w) in net.namedParameters where w.shape.count == 2 {      // ≈ 80 % pruned by a magnitude cut
            let cut = w.value.scalars.map(abs).sorted()[w.value.count * 4 / 5]
            let keep = w.value.scalars.map { abs($0) >= cut ? Float(1) : 0 }
            masks[name] = Tensor(shape: w.shape, scalars: keep)
            w.value = Tensor(shape: w.shape, scalars: zip(w.value.scalars, keep).map { $0 * $1 })
        }
        let dir = try InteropPeer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model.safetensors").path, mask = dir.appendingPathComponent("mask.safetensors").path
        let io = dir.appendingPathComponent("io.safetensors").path
        let mean: Float = 0.1307, std: Float = 0.3081
        try saveStateDict(net, to: model, metadata: ["format": "pt", "shears.mean": String(mean), "shears.std": String(std)])
        try SafetensorsFile.write(path: mask, tensors: masks, dtypes: [:], metadata: ["format": "pt"])
        let x = Tensor(shape: [5, 1, 28, 28], scalars: (0..<(5 * 784)).map { Float(($0 * 7919) % 256) / 255 })
        let y = net(Variable(Tensor(shape: x.shape, scalars: x.scalars.map { ($0 - mean) / std }))).value
        try SafetensorsFile.write(path: io, tensors: ["input": x, "output": y.contiguous()], dtypes: [:], metadata: [:])

        let report = try InteropPeer.run(["custom-from-mask", model, mask, io])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])
        let pruned = try XCTUnwrap(json["pruned"] as? [String: Int])
        XCTAssertEqual(Set(pruned.keys), ["fc1.weight", "fc2.weight", "fc3.weight"])
        for (name, m) in masks { XCTAssertEqual(pruned[name], m.scalars.filter { $0 == 0 }.count, name) }
        XCTAssertLessThanOrEqual(try XCTUnwrap(json["max_abs_error"] as? Double), 1e-5)
    }
}
