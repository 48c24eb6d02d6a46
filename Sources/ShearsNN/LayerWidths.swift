/// Per-layer output widths for building a zoo model smaller than its nominal plan (a structurally pruned,
/// compacted model): layer name (the state_dict prefix of a conv / linear, `layer1.0.conv1`, `features.3`) →
/// output channels. A layer not listed keeps its nominal width, so `LayerWidths()` builds exactly the default
/// model (same parameters drawn in the same order).
///
/// Models ask for the width of every layer they may narrow (`width(_:nominal:)`) and declare the layers whose
/// width the structure fixes (`tied(_:to:)`: a residual block's last conv under an identity shortcut has the
/// width of the block's input). A reference type, so the blocks a model builds record into one list; afterwards
/// `problems` lists what does not fit the model — unknown layers, widths below 1, ties broken — by layer name,
/// which `makeModel(_:inputShape:classes:widths:generator:)` turns into an error instead of building.
public final class LayerWidths {
    public let values: [String: Int]
    private var asked = Set<String>()
    private var broken: [String] = []

    /// Unlisted layers get their nominal width divided by `nominalDivisor` (at least 1): a uniformly thinner
    /// variant of a model (tests use it to keep the big families small); 1 keeps the nominal plan.
    public let nominalDivisor: Int

    public init(_ values: [String: Int] = [:], nominalDivisor: Int = 1) {
        self.values = values
        self.nominalDivisor = max(1, nominalDivisor)
    }

    /// The width of `layer`: its listed value, else `nominal` (divided by `nominalDivisor`). A listed value below 1
    /// is recorded as a problem and `nominal` is used, so that construction never traps on it.
    public func width(_ layer: String, nominal: Int) -> Int {
        asked.insert(layer)
        guard let w = values[layer] else { return max(1, nominal / nominalDivisor) }
        guard w >= 1 else {
            broken.append("\(layer): width must be at least 1, got \(w)")
            return nominal
        }
        return w
    }

    /// `layer`'s width is fixed by the structure to `width` (an identity residual): a listed value must agree.
    public func tied(_ layer: String, to width: Int, because reason: String) {
        asked.insert(layer)
        if let w = values[layer], w != width {
            broken.append("\(layer): width must equal \(width) (\(reason)), got \(w)")
        }
    }

    /// What does not fit the model, one line per layer; empty when every listed width was used and consistent.
    public var problems: [String] {
        broken + values.keys.filter { !asked.contains($0) }.sorted().map {
            "\($0): not a layer whose width this model can change (the classifier's outputs and unknown names cannot be set)"
        }
    }
}
