import ShearsTensor

/// A value copy of named tensors (weights, and buffers if you pass `model.stateDict`): the θ₀ of IMP or the θ_k
/// of weight rewinding (Frankle et al. 2020; S-Cyc spec §4 "Retraining policies").
///
/// `Tensor` is copy-on-write, but the snapshot still forces its own storage at capture and hands a fresh copy
/// back on restore, so no in-place kernel write on either side can ever reach the other.
public struct WeightSnapshot {
    /// name → value at capture time, in the order given.
    public private(set) var entries: [(String, Tensor)]

    public init(_ params: [(String, Variable)]) {
        entries = params.map { ($0.0, WeightSnapshot.deepCopy($0.1.value)) }
    }

    public init(entries: [(String, Tensor)]) { self.entries = entries.map { ($0.0, WeightSnapshot.deepCopy($0.1)) } }

    public var names: [String] { entries.map(\.0) }
    public subscript(name: String) -> Tensor? { entries.first { $0.0 == name }?.1 }

    /// Writes the captured values into the same-named `params` (names absent from the snapshot are left alone;
    /// a shape change is a precondition failure). Gradients are cleared.
    public func restore(into params: [(String, Variable)]) {
        let byName = Dictionary(entries, uniquingKeysWith: { a, _ in a })
        for (name, p) in params {
            guard let v = byName[name] else { continue }
            precondition(v.shape == p.shape, "WeightSnapshot.restore: '\(name)' was \(v.shape), is now \(p.shape)")
            p.value = WeightSnapshot.deepCopy(v).in(p.value.format)
            p.grad = nil
        }
    }

    /// As a checkpoint dictionary (e.g. under `init/<name>`).
    public func dictionary(prefix: String = "") -> [String: Tensor] {
        Dictionary(entries.map { (prefix + $0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    }

    static func deepCopy(_ t: Tensor) -> Tensor {
        var c = t
        c.withUnsafeMutableBufferPointer { _ in }   // shared storage → copy now
        return c
    }
}
