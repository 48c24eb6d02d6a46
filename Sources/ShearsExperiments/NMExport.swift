import ShearsIO
import ShearsNN
import ShearsPrune

/// Writes `model`'s state dict as a bitmask export whose metadata carries the N:M pattern
/// (`shears.nm_pattern` = "2:4") after checking that `mask` (the weights it covers) keeps the pattern and that the
/// weights are 0 where it says so. Returns the export's per-tensor decisions.
@discardableResult
public func exportNM(_ model: any Layer, mask: Mask, pattern: NMPattern, to path: String) throws -> [SparseStateDict.Decision] {
    guard satisfiesNM(mask, pattern: pattern) else {
        throw IOError(path: path, "the mask does not keep at most \(pattern.n) of every \(pattern.m) inputs; refusing to label it \(pattern)")
    }
    var tensors: [String: RawTensor] = [:]
    for (name, v) in model.stateDict {
        if let m = mask[name], zip(v.value.scalars, m.scalars).contains(where: { $0 != 0 && $1 == 0 }) {
            throw IOError(path: path, "\(name) has non-zero weights where its N:M mask is 0; apply the mask first")
        }
        tensors[name] = try RawTensor(v.value, dtype: name.hasSuffix("num_batches_tracked") ? .I64 : .F32, name: name, path: path)
    }
    return try SparseStateDict.write(tensors, metadata: [NMPattern.metadataKey: pattern.description, "format": "pt"],
                                     as: .bitmask, to: path)
}
