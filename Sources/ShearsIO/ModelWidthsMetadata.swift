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

/// The model `name` at the widths the file at `path` records (a compacted model's; nominal when it records none) with
/// the file's values loaded, reading the file once: how every command takes a model file (`--init` of every training
/// command, `eval`, `bench infer --weights`, `prune structured --from`). `g` draws the initialisation the values then
/// replace — with no widths, the same numbers as `makeModel(_:inputShape:classes:generator:)`. A widths entry that
/// does not fit the model is an error naming the file and the layer. Returns the file's description ("loaded " +
/// `info.summary`) and its metadata (the normalisation, `shears.mean` / `shears.std`).
public func loadModel(_ name: ModelName, inputShape: [Int], classes: Int, from path: String, generator g: inout Generator) throws
    -> (model: any Layer, info: StateDictFileInfo, metadata: [String: String]) {
    let (decoded, info) = try SparseStateDict.read(path: path)
    let widths = try decoded.metadata[ModelWidthsMetadata.key].map { try ModelWidthsMetadata.decode($0, source: path) } ?? [:]
    let model = try makeModel(name, inputShape: inputShape, classes: classes, widths: widths, source: path, generator: &g)
    try loadStateDict(model, from: decoded.floatFile, source: path)
    return (model, info, decoded.metadata)
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
    return try loadModel(name, inputShape: inputShape, classes: classes, from: path, generator: &g).model
}
