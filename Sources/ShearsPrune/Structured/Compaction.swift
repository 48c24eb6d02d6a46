import ShearsNN
import ShearsTensor

/// The output widths the compacted model has: every producing layer of a prunable group gets the group's kept count
/// (layer name → channels, as `makeModel(_:inputShape:classes:widths:generator:)` takes them).
public func compactedWidths(groups: [DependencyGroup], keep: ChannelSelection) -> [String: Int] {
    var out: [String: Int] = [:]
    for g in groups where g.prunable { for layer in g.producingLayers { out[layer] = keep[g.name]?.count ?? g.channels } }
    return out
}

/// The cuts of a selection: for every state_dict entry a group owns, the (member, kept channels) of each of its axes.
func channelCuts(groups: [DependencyGroup], keep: ChannelSelection) -> [String: [(GroupMember, [Int])]] {
    var cuts: [String: [(GroupMember, [Int])]] = [:]
    for g in groups {
        guard let k = keep[g.name], k.count < g.channels else { continue }
        for m in g.members { cuts[m.name, default: []].append((m, k)) }
    }
    return cuts
}

/// Every state_dict entry of `model` with the removed channels cut out of each of its group axes (a conv weight
/// is cut along axis 0 by its own group and along axis 1 by its input's group).
public func compactedStateDict(_ model: any Layer, groups: [DependencyGroup], keep: ChannelSelection) -> [String: Tensor] {
    let cuts = channelCuts(groups: groups, keep: keep)
    var out: [String: Tensor] = [:]
    for (name, v) in model.stateDict {
        var t = v.value
        for (m, k) in cuts[name] ?? [] { t = ChannelSlices.gather(t, axis: m.axis, block: m.block, keep: k) }
        out[name] = t
    }
    return out
}

/// Compaction's inverse: writes `small`'s values (a compaction of `model` by `keep`, trained since) back into `model`'s
/// kept channels, then zeroes the removed channels' parameters with the structured mask — the masked twin of `small`,
/// which computes what `small` computes. Removed channels' buffers (running statistics) keep `model`'s values, which a
/// zero γ and β make irrelevant.
public func expand(_ small: any Layer, into model: any Layer, groups: [DependencyGroup], keep: ChannelSelection) throws {
    let cuts = channelCuts(groups: groups, keep: keep)
    let values = Dictionary(small.stateDict.map { ($0.0, $0.1.value) }, uniquingKeysWith: { a, _ in a })
    func expanded(_ base: Tensor, _ v: Tensor, _ cuts: ArraySlice<(GroupMember, [Int])>) -> Tensor {
        guard let (m, k) = cuts.first else { return v }
        let inner = expanded(ChannelSlices.gather(base, axis: m.axis, block: m.block, keep: k), v, cuts.dropFirst())
        return ChannelSlices.scatter(into: base, inner, axis: m.axis, block: m.block, keep: k)
    }
    for (name, variable) in model.stateDict {
        guard let v = values[name] else { throw StructuredPruningError("expansion: the compacted model has no \(name)") }
        let entryCuts = cuts[name] ?? []
        var cutShape = variable.value.shape
        for (m, k) in entryCuts { cutShape[m.axis] = k.count * m.block }
        guard v.shape == cutShape else {
            throw StructuredPruningError("expansion: \(name) is \(v.shape) in the compacted model, expected \(cutShape)")
        }
        variable.value = expanded(variable.value, v, entryCuts[...])
    }
    structuredMask(model, groups: groups, keep: keep).apply(to: model.namedParameters)
}

/// The structured mask of a selection: 0 on every entry a removed channel owns in a parameter (producer filters
/// and biases, batch-norm γ and β, consumers' input channels), 1 elsewhere. With it applied, the model computes
/// what its compaction computes (a removed channel is exactly 0 everywhere it flows); `MaskedOptimizer` keeps it.
public func structuredMask(_ model: any Layer, groups: [DependencyGroup], keep: ChannelSelection) -> Mask {
    let params = Dictionary(model.namedParameters, uniquingKeysWith: { a, _ in a })
    var mask = Mask()
    for g in groups {
        guard let k = keep[g.name], k.count < g.channels else { continue }
        let kept = Set(k)
        for m in g.members {
            guard let p = params[m.name] else { continue }   // running statistics are buffers: left alone
            let cut = ChannelSlices.keepMask(p.shape, axis: m.axis, block: m.block, keep: kept)
            mask.tensors[m.name] = mask.tensors[m.name].map { $0 * cut } ?? cut
        }
    }
    return mask
}

/// Builds the dense model of the kept widths from the zoo definition and fills it with `model`'s values of the
/// kept channels. Throws when the zoo model cannot take these widths or a cut entry does not fit (naming it).
public func compact(_ model: any Layer, name: ModelName, inputShape: [Int], classes: Int, groups: [DependencyGroup],
                    keep: ChannelSelection) throws -> (model: any Layer, widths: [String: Int]) {
    try compact(model, groups: groups, keep: keep) { widths in
        var g = Generator(seed: 0)   // every value is overwritten
        return try makeModel(name, inputShape: inputShape, classes: classes, widths: widths, generator: &g)
    }
}

/// `compact` with the model of given widths built by `build` (a model outside the zoo's names, a test's thin variant).
public func compact(_ model: any Layer, groups: [DependencyGroup], keep: ChannelSelection,
                    build: ([String: Int]) throws -> any Layer) throws -> (model: any Layer, widths: [String: Int]) {
    for g in groups where keep[g.name] != nil {
        guard g.prunable else { throw StructuredPruningError("group \(g.name) cannot be pruned: \(g.fixedBecause!)") }
        guard let k = keep[g.name], !k.isEmpty, k.allSatisfy({ (0..<g.channels).contains($0) }) else {
            throw StructuredPruningError("group \(g.name): kept channels must be a non-empty subset of 0..<\(g.channels)")
        }
    }
    let widths = compactedWidths(groups: groups, keep: keep)
    let small = try build(widths)
    let values = compactedStateDict(model, groups: groups, keep: keep)
    for (entry, v) in small.stateDict {
        guard let t = values[entry], t.shape == v.shape else {
            throw StructuredPruningError("compaction: \(entry) is \(values[entry]?.shape.description ?? "missing") after cutting, "
                                         + "but the zoo model of these widths has \(v.shape)")
        }
        v.value = t
    }
    return (small, widths)
}
