import Foundation
import ShearsNN
import ShearsTensor

/// Whether a state_dict entry is one PyTorch stores as int64 (`BatchNorm`'s `num_batches_tracked`).
func isInt64StateEntry(_ name: String) -> Bool {
    name == "num_batches_tracked" || name.hasSuffix(".num_batches_tracked")
}

/// Saves the layer's parameters and buffers under their state_dict names (num_batches_tracked as I64, as
/// PyTorch stores it), plus `extra` tensors (e.g. pruning masks, as F32) and `metadata` (`"format": "pt"` is
/// added unless given, as `safetensors.torch.save_file` writes), atomically.
/// An `extra` name that collides with a state_dict name is an `IOError`.
public func saveStateDict(_ model: any Layer, to path: String, extra: [String: Tensor] = [:],
                          metadata: [String: String] = [:]) throws {
    var tensors: [String: Tensor] = [:]
    var dtypes: [String: SafetensorsDType] = [:]
    for (name, v) in model.stateDict {
        if tensors[name] != nil { throw IOError(path: path, "the model lists \"\(name)\" twice in its state_dict") }
        tensors[name] = v.value
        if isInt64StateEntry(name) { dtypes[name] = .I64 }
    }
    for name in extra.keys.sorted() {
        if tensors[name] != nil {
            throw IOError(path: path, "extra tensor \"\(name)\" has the name of a model parameter or buffer")
        }
        tensors[name] = extra[name]!
    }
    var meta = metadata
    if meta["format"] == nil { meta["format"] = "pt" }
    try SafetensorsFile.write(path: path, tensors: tensors, dtypes: dtypes, metadata: meta)
}

/// Loads values into the layer's parameters and buffers by name. Strict: names missing from the file,
/// unexpected names in the file, and shape mismatches are ALL listed in one `IOError` (like PyTorch's
/// `load_state_dict`: "Missing key(s)… Unexpected key(s)… size mismatch for …"), and nothing is modified
/// when any mismatch exists.
///
/// Names starting with one of `ignoringPrefixes` are skipped on both sides: neither loaded nor checked
/// (e.g. `["mask."]` for masks saved as `extra`, or `["fc."]` to load a backbone under a new classifier).
///
/// The file may be in any `StateDictFormat` (a plain safetensors state dict, or a `shears export` in dense,
/// bitmask or CSR form): encoded tensors are decoded exactly first. Returns what was found (format, size
/// against the dense size) for the caller to report, e.g. `"loaded " + info.summary`.
@discardableResult
public func loadStateDict(_ model: any Layer, from path: String, ignoringPrefixes: [String] = []) throws -> StateDictFileInfo {
    let (decoded, info) = try SparseStateDict.read(path: path)
    try loadStateDict(model, from: decoded.floatFile, source: path, ignoringPrefixes: ignoringPrefixes)
    return info
}

/// `loadStateDict(_:from:ignoringPrefixes:)` from a file already read (e.g. one whose `extra` tensors the caller
/// also uses); `source` names it in errors. A bitmask or CSR export must be loaded by path instead: once read as
/// float32 its integer parts may have lost precision, so it is refused here rather than decoded inexactly.
public func loadStateDict(_ model: any Layer, from file: SafetensorsFile, source: String,
                          ignoringPrefixes: [String] = []) throws {
    if let format = file.metadata[SparseStateDict.formatKey], format != StateDictFormat.dense.rawValue {
        throw IOError(path: source, "is a \(format) export (\(SparseStateDict.formatKey) = \(format)); load it by path "
                      + "(loadStateDict(model, from: path)) so that its encoded tensors are decoded exactly")
    }
    func ignored(_ name: String) -> Bool { ignoringPrefixes.contains { name.hasPrefix($0) } }
    let entries = model.stateDict.filter { !ignored($0.0) }
    let modelNames = Set(entries.map(\.0))

    var missing: [String] = []
    var mismatched: [String] = []
    var seen = Set<String>()
    for (name, v) in entries where seen.insert(name).inserted {
        guard let t = file.tensors[name] else { missing.append(name); continue }
        if t.shape != v.value.shape {
            mismatched.append("size mismatch for \(name): copying a param with shape \(t.shape) from checkpoint, "
                              + "the shape in current model is \(v.value.shape).")
        }
    }
    let unexpected = file.tensors.keys.filter { !modelNames.contains($0) && !ignored($0) }.sorted()

    if !missing.isEmpty || !unexpected.isEmpty || !mismatched.isEmpty {
        var lines = ["Error(s) in loading state_dict for \(type(of: model)); nothing was loaded:"]
        func quoted(_ names: [String]) -> String { names.map { "\"\($0)\"" }.joined(separator: ", ") }
        if !missing.isEmpty { lines.append("\tMissing key(s) in state_dict: \(quoted(missing)).") }
        if !unexpected.isEmpty { lines.append("\tUnexpected key(s) in state_dict: \(quoted(unexpected)).") }
        lines += mismatched.map { "\t" + $0 }
        throw IOError(path: source, lines.joined(separator: "\n"))
    }
    for (name, v) in entries {
        v.value = file.tensors[name]!.in(v.value.format)
    }
}
