import ShearsTensor

/// The multiply-accumulates of one conv / linear layer per input example.
public struct LayerMACs: Codable, Equatable, Sendable {
    /// The weight's state_dict name.
    public let name: String
    public let weightShape: [Int]
    public let macs: Int
}

/// Multiply-accumulates per example of every conv and linear layer of `model` on inputs shaped `inputShape`
/// ([C, H, W]), from one traced forward (the shapes each layer actually sees): a conv [O, C, KH, KW] producing
/// OH×OW costs O·OH·OW·C·KH·KW, a linear [out, in] out·in. Batch norm, activations, pooling and additions are
/// not counted (the convention of the papers' FLOPs tables, which count MACs of weight layers).
public func countMACs(_ model: any Layer, inputShape: [Int]) -> [LayerMACs] {
    let names = Dictionary(model.namedParameters.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
    return SparseInference.traceWeightUses(model, batchSize: 1, inputShape: inputShape).map { use in
        let w = use.weight.shape
        var macs = w.reduce(1, *)
        if use.op.hasPrefix("conv2d") {
            let oh = (use.inputShape[2] + 2 * use.padding - w[2]) / use.stride + 1
            let ow = (use.inputShape[3] + 2 * use.padding - w[3]) / use.stride + 1
            macs *= oh * ow
        }
        return LayerMACs(name: names[ObjectIdentifier(use.weight)] ?? use.op, weightShape: w, macs: macs)
    }
}
