import ShearsNN
import ShearsTensor

/// Which parameters of a model get a mask (S-Cyc spec §4: "prunable = conv and linear kernels, plus whatever
/// else the configuration includes").
///
/// - A *layer weight* is a parameter named `*.weight` (or `weight`) of rank ≥ 2: conv kernels [out, in, kh, kw]
///   and linear matrices [out, in]. Batch-norm γ is rank 1 and is never a layer weight.
/// - The *first* and *last* layer are the first and last layer weights in `namedParameters` order (registration
///   order: the stem conv and the classifier in every model of ShearsNN).
/// - Defaults: every conv and linear weight, first and last layer **included**. Both the S-Cyc setups and the
///   lottery-ticket MLP (Frankle & Carbin 2019) prune all layers of LeNet-300-100; OpenLTH prunes the classifier
///   too. ShrinkBench excludes the classifier and APP never prunes the FC layer: set `includeLastLayer = false`.
/// - `includeBiases` adds the biases of the selected layers (ShrinkBench scores weights and biases).
/// - `includeBatchNormScale` adds batch-norm γ (`*.weight` of a module that has a `running_mean` buffer).
public struct PrunableSelection: Codable, Equatable, Sendable {
    public var includeFirstLayer: Bool
    public var includeLastLayer: Bool
    public var includeBiases: Bool
    public var includeBatchNormScale: Bool

    public init(includeFirstLayer: Bool = true, includeLastLayer: Bool = true, includeBiases: Bool = false,
                includeBatchNormScale: Bool = false) {
        self.includeFirstLayer = includeFirstLayer
        self.includeLastLayer = includeLastLayer
        self.includeBiases = includeBiases
        self.includeBatchNormScale = includeBatchNormScale
    }

    /// The selected parameters, in the model's `namedParameters` order.
    public func select(_ model: any Layer) -> [(String, Variable)] {
        let params = model.namedParameters
        let bnModules = Set(model.namedBuffers.compactMap { name, _ in
            name.hasSuffix("running_mean") ? PrunableSelection.module(of: name) : nil
        })
        func isWeight(_ name: String) -> Bool { name == "weight" || name.hasSuffix(".weight") }
        let layerWeights = params.filter { isWeight($0.0) && $0.1.shape.count >= 2 }.map(\.0)
        var excludedModules = Set<String>()
        if !includeFirstLayer, let first = layerWeights.first { excludedModules.insert(PrunableSelection.module(of: first)) }
        if !includeLastLayer, let last = layerWeights.last { excludedModules.insert(PrunableSelection.module(of: last)) }
        let layerModules = Set(layerWeights.map(PrunableSelection.module(of:)))

        return params.filter { name, v in
            let module = PrunableSelection.module(of: name)
            if bnModules.contains(module) { return includeBatchNormScale && isWeight(name) }
            guard layerModules.contains(module), !excludedModules.contains(module) else { return false }
            if isWeight(name) { return v.shape.count >= 2 }
            if name == "bias" || name.hasSuffix(".bias") { return includeBiases }
            return false
        }
    }

    /// `layer1.0.conv1.weight` → `layer1.0.conv1` (the owning module; "" at top level).
    static func module(of name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[..<dot])
    }
}
