import Foundation
import ShearsTensor

/// Everything decided once for the whole job: pruning scores reduced over the ranks before allocation, masks,
/// gRDA thresholds and any other named tensor computed on rank 0 and broadcast, and a bitwise check that the
/// ranks hold the same tensors.
extension Communicator {
    /// Σ_r weight_r·scores_r for each named score tensor; `weight` nil is 1/size (the mean). Pass the shard's
    /// `lossShare` for scores linear in the gradient of a shard's mean loss (w ⊙ ∂L_r/∂w, before any |·|): the
    /// result is then the score of the global batch, also for unequal shards. Magnitude scores, identical on
    /// every rank already, come back unchanged up to rounding. Ranks must hold the same names and shapes; all
    /// of them throw otherwise.
    public func reduceScores(_ scores: [String: Tensor], weight: Double? = nil) throws -> [String: Tensor] {
        guard usesMPI, size > 1 else { return scores }
        let names = scores.keys.sorted()
        try agree(on: names.map { "\($0)\(scores[$0]!.shape)" }.joined(separator: ";"), what: "score tensors (names and shapes)")
        let total = names.reduce(0) { $0 + scores[$1]!.count }
        var flat = [Float](repeating: 0, count: total)
        var at = 0
        for name in names {
            let t = scores[name]!.contiguous()
            t.withUnsafeBufferPointer { src in flat.withUnsafeMutableBufferPointer { dst in
                (dst.baseAddress! + at).update(from: src.baseAddress!, count: src.count) } }
            at += t.count
        }
        let w = Float(weight ?? 1 / Double(size))
        for i in flat.indices { flat[i] *= w }
        try flat.withUnsafeMutableBufferPointer { try allreduceSum($0) }
        var out: [String: Tensor] = [:]
        at = 0
        for name in names {
            let shape = scores[name]!.shape, n = scores[name]!.count
            out[name] = Tensor(shape: shape, scalars: Array(flat[at..<(at + n)]))
            at += n
        }
        return out
    }

    /// Rank `root`'s named tensors on every rank: the names and shapes are the root's (a rank that computed no
    /// mask of its own passes `[:]`).
    public func broadcast(_ tensors: [String: Tensor], root: Int = 0) throws -> [String: Tensor] {
        guard usesMPI, size > 1 else { return tensors }
        let names = try broadcast(Array(tensors.keys.sorted().joined(separator: "\n").utf8), root: root)
        var out: [String: Tensor] = [:]
        let list = names.isEmpty ? [] : String(decoding: names, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for name in list.map(String.init) {
            out[name] = try broadcast(tensors[name] ?? Tensor(shape: []), root: root)
        }
        return out
    }

    /// Rank `root`'s scalars (gRDA thresholds, a learning rate found by one rank) on every rank.
    public func broadcast(_ values: [Double], root: Int = 0) throws -> [Double] {
        guard usesMPI, size > 1 else { return values }
        var bytes: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        let got = try broadcast(bytes, root: root)
        return stride(from: 0, to: got.count, by: 8).map { at in
            Double(bitPattern: got[at..<(at + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) })
        }
    }

    /// Writes rank `root`'s values into these variables on every rank (batch-norm running statistics before an
    /// evaluation or a checkpoint, weights after a rank-0 decision). Shapes must agree on every rank.
    public func broadcastValues(_ named: [(String, Variable)], root: Int = 0) throws {
        guard usesMPI, size > 1 else { return }
        try agree(on: named.map { "\($0.0)\($0.1.shape)" }.joined(separator: ";"), what: "variables to broadcast")
        for (_, v) in named { v.value = try broadcast(v.value, root: root) }
    }

    /// The names of the variables whose value differs, bit for bit, from rank 0's (empty on every rank when all
    /// agree; the list is the same on every rank).
    public func differingFromRoot(_ named: [(String, Variable)]) throws -> [String] {
        guard usesMPI, size > 1 else { return [] }
        try agree(on: named.map { "\($0.0)\($0.1.shape)" }.joined(separator: ";"), what: "variables to compare")
        var differs = [Int](repeating: 0, count: named.count)
        for (k, (_, v)) in named.enumerated() {
            let root = try broadcast(v.value, root: 0)
            let same = root.format == v.value.format && root.withUnsafeBufferPointer { a in
                v.value.withUnsafeBufferPointer { b in
                    a.count == b.count && memcmp(a.baseAddress!, b.baseAddress!, a.count * 4) == 0 } }
            differs[k] = same ? 0 : 1
        }
        let any = try allreduce(differs, .max)
        return named.indices.filter { any[$0] != 0 }.map { named[$0].0 }
    }

    /// Throws on every rank unless every rank passed the same `description`.
    func agree(on description: String, what: String) throws {
        let mine = fnv1a(description)
        let low = try allreduce([Int(bitPattern: UInt(mine))], .min), high = try allreduce([Int(bitPattern: UInt(mine))], .max)
        guard low == high else {
            throw DistributedError("the ranks disagree on the \(what); rank \(rank) has \(description.prefix(400))")
        }
    }
}

/// FNV-1a, 64 bits: a fingerprint for comparing descriptions across ranks without sending them.
func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in s.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    return h
}
