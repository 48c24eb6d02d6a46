import ShearsTensor

/// A pruning mask: one 0/1 float tensor per prunable parameter, keyed by the parameter's PyTorch state_dict name
/// (`layer1.0.conv1.weight`), same shape as the parameter. 1 = the weight is alive, 0 = pruned.
///
/// How the mask acts in the forward pass. ShrinkBench's `MaskedModule` and OpenLTH's `PrunedModel` compute
/// `weight ⊙ mask` at every forward (S-Cyc spec §4, "Masking mechanics"). We keep the equivalent invariant
/// instead: pruned weights are *exactly 0* in the model at all times (`apply(to:)` after pruning, gradients
/// masked before and the mask re-applied after every optimizer step, see `MaskedOptimizer`). A weight that is
/// exactly 0 contributes exactly what `0 · w` would, so the forward pass equals the masked forward without a
/// per-step multiply, and the layers need no mask-aware variants. `masked(_:name:)` gives the explicit
/// `w ⊙ m` op (no gradient to pruned entries) for custom code that wants it.
///
/// Masks are monotone under `prune(…)`: once 0, an entry stays 0 (S-Cyc spec §4; OpenLTH).
public struct Mask: Equatable {
    /// name → 0/1 tensor shaped like the parameter.
    public var tensors: [String: Tensor]

    /// Key prefix under which checkpoints store the mask: `mask/<parameter name>`.
    public static let checkpointPrefix = "mask/"

    public init(_ tensors: [String: Tensor] = [:]) { self.tensors = tensors }

    /// The dense mask (every weight alive) for `parameters`.
    public static func ones(for parameters: [(String, Variable)]) -> Mask {
        Mask(Dictionary(uniqueKeysWithValues: parameters.map { ($0.0, Tensor.ones($0.1.shape)) }))
    }

    /// Masked parameter names, sorted (the deterministic order pruning breaks ties in).
    public var names: [String] { tensors.keys.sorted() }

    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    // MARK: counts

    /// Alive (1) entries of one tensor.
    public func remaining(_ name: String) -> Int { tensors[name].map(Mask.countOnes) ?? 0 }
    /// Entries of one tensor.
    public func total(_ name: String) -> Int { tensors[name]?.count ?? 0 }
    /// Alive entries over all masked tensors.
    public var remaining: Int { tensors.values.reduce(0) { $0 + Mask.countOnes($1) } }
    /// Entries over all masked tensors.
    public var total: Int { tensors.values.reduce(0) { $0 + $1.count } }
    /// remaining / total (1 for an empty mask).
    public var density: Double { total == 0 ? 1 : Double(remaining) / Double(total) }
    /// 1 − density.
    public var sparsity: Double { 1 - density }
    /// Density of one tensor.
    public func density(_ name: String) -> Double {
        let n = total(name)
        return n == 0 ? 1 : Double(remaining(name)) / Double(n)
    }

    static func countOnes(_ t: Tensor) -> Int { t.withUnsafeBufferPointer { b in b.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } }

    // MARK: acting on parameters

    /// Sets every pruned weight of `parameters` to exactly 0, in place. Parameters without a mask entry are
    /// left alone. We write 0 rather than multiply so that a non-finite pruned value cannot survive as NaN.
    public func apply(to parameters: [(String, Variable)]) {
        for (name, p) in parameters {
            guard let m = tensors[name] else { continue }
            Mask.zero(&p.value, where: m, name: name)
        }
    }

    /// Sets the gradient entries of pruned weights to 0 (parameters without a gradient are skipped).
    public func maskGradients(of parameters: [(String, Variable)]) {
        for (name, p) in parameters {
            guard let m = tensors[name], p.grad != nil else { continue }
            Mask.zero(&p.grad!, where: m, name: name)
        }
    }

    /// `t[i] = 0` wherever `mask[i] == 0`, in `t`'s own memory format.
    static func zero(_ t: inout Tensor, where mask: Tensor, name: String) {
        precondition(t.shape == mask.shape, "Mask: '\(name)' has shape \(t.shape) but its mask has shape \(mask.shape)")
        let m = mask.in(t.format)
        m.withUnsafeBufferPointer { mb in
            t.withUnsafeMutableBufferPointer { tb in
                for i in 0..<tb.count where mb[i] == 0 { tb[i] = 0 }
            }
        }
    }

    /// `value ⊙ mask` as a taped op (`multiply(_:constant:)`): the forward of ShrinkBench's masked modules, with
    /// no gradient reaching pruned entries. Returns `value` unchanged when `name` has no mask.
    public func masked(_ value: Variable, name: String) -> Variable {
        guard let m = tensors[name] else { return value }
        return multiply(value, constant: m)
    }

    /// Elementwise AND of two masks (names of either; a name in only one keeps that one's tensor).
    public func intersection(_ other: Mask) -> Mask {
        var out = self
        for (name, t) in other.tensors {
            out.tensors[name] = out.tensors[name].map { $0 * t } ?? t
        }
        return out
    }

    /// Throws unless every masked name is one of `parameters` with the same shape and every entry is 0 or 1.
    public func validate(against parameters: [(String, Variable)]) throws {
        let shapes = Dictionary(parameters.map { ($0.0, $0.1.shape) }, uniquingKeysWith: { a, _ in a })
        for name in names {
            guard let s = shapes[name] else { throw MaskError("mask entry '\(name)' names no parameter") }
            let m = tensors[name]!
            guard m.shape == s else { throw MaskError("mask '\(name)' has shape \(m.shape), parameter has \(s)") }
            guard m.withUnsafeBufferPointer({ $0.allSatisfy { $0 == 0 || $0 == 1 } }) else {
                throw MaskError("mask '\(name)' holds values other than 0 and 1")
            }
        }
    }

    // MARK: checkpoints

    /// The entries a checkpoint stores: `mask/<name>` → 0/1 tensor.
    public var checkpointEntries: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: tensors.map { (Mask.checkpointPrefix + $0.key, $0.value) })
    }

    /// Reads the `mask/<name>` entries of a checkpoint dictionary (other keys are ignored). Throws if an
    /// entry holds values other than 0/1.
    public init(checkpointEntries entries: [String: Tensor]) throws {
        var t: [String: Tensor] = [:]
        for (key, value) in entries where key.hasPrefix(Mask.checkpointPrefix) {
            guard value.withUnsafeBufferPointer({ $0.allSatisfy { $0 == 0 || $0 == 1 } }) else {
                throw MaskError("checkpoint entry '\(key)' holds values other than 0 and 1")
            }
            t[String(key.dropFirst(Mask.checkpointPrefix.count))] = value.contiguous()
        }
        self.init(t)
    }

    public static func == (a: Mask, b: Mask) -> Bool {
        Set(a.tensors.keys) == Set(b.tensors.keys)
            && a.tensors.allSatisfy { k, v in b.tensors[k].map { $0.shape == v.shape && $0.scalars == v.scalars } ?? false }
    }
}

/// A mask that does not fit the model or the checkpoint it came from.
public struct MaskError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
