import Foundation
import ShearsNN
import ShearsTensor

/// The per-layer widths of a compacted (structurally pruned) model in a safetensors file's metadata:
/// `shears.widths` = a JSON object of layer name → output channels, sorted by name. A file without it holds a
/// nominal zoo model. Every format of `SparseStateDict` keeps the key.
public enum ModelWidthsMetadata {
    public static let key = "shears.widths"

    public static func encode(_ widths: [String: Int]) -> String {
        "{" + widths.keys.sorted().map { "\(jsonQuoted($0)):\(widths[$0]!)" }.joined(separator: ",") + "}"
    }

    /// Parses the metadata value; `source` names the file in errors.
    public static func decode(_ text: String, source: String) throws -> [String: Int] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw IOError(path: source, "\(key) must be a JSON object of layer name → width, got \(text.prefix(80))")
        }
        var out: [String: Int] = [:]
        for (layer, value) in object {
            guard let n = value as? NSNumber, !(value is Bool), n.doubleValue >= 1, n.doubleValue == n.doubleValue.rounded(),
                  n.doubleValue < 1e9 else {
                throw IOError(path: source, "\(key): the width of \(layer) must be a positive integer, got \(value)")
            }
            out[layer] = n.intValue
        }
        return out
    }

    /// The widths recorded in `path`'s metadata (empty for a nominal model).
    public static func read(path: String) throws -> [String: Int] {
        let (decoded, _) = try SparseStateDict.read(path: path)
        return try decoded.metadata[key].map { try decode($0, source: path) } ?? [:]
    }
}

/// The model `name` at the widths the file `widthsOf` records (a compacted model's; nominal when the file records
/// none or there is no file), initialised from `g`: how every command that takes a model file builds the model the
/// file's values are then loaded into (`--init` of every training command, `eval`, `export`, `bench infer`). With
/// no widths it is `makeModel(_:inputShape:classes:generator:)` itself, drawing the same numbers. A widths entry
/// that does not fit the model is an error naming the file and the layer.
public func makeModel(_ name: ModelName, inputShape: [Int], classes: Int, widthsOf path: String?,
                      generator g: inout Generator) throws -> any Layer {
    guard let path else { return try makeModel(name, inputShape: inputShape, classes: classes, generator: &g) }
    return try makeModel(name, inputShape: inputShape, classes: classes, widths: try ModelWidthsMetadata.read(path: path),
                         source: path, generator: &g)
}

/// `makeModel(_:inputShape:classes:widths:generator:)` with errors naming `source`, the file the widths came from.
public func makeModel(_ name: ModelName, inputShape: [Int], classes: Int, widths: [String: Int], source: String,
                      generator g: inout Generator) throws -> any Layer {
    do {
        return try makeModel(name, inputShape: inputShape, classes: classes, widths: widths, generator: &g)
    } catch let e as ModelError where !widths.isEmpty {
        throw IOError(path: source, "\(ModelWidthsMetadata.key) does not fit \(name.rawValue): \(e.description)")
    }
}

/// Builds the zoo model `name` with the widths `path` records and loads its values.
public func loadZooModel(_ name: ModelName, inputShape: [Int], classes: Int, from path: String) throws -> any Layer {
    var g = Generator(seed: 0)   // overwritten by the file's values
    let model = try makeModel(name, inputShape: inputShape, classes: classes, widthsOf: path, generator: &g)
    try loadStateDict(model, from: path)
    return model
}
