import Foundation
import ShearsTensor

/// What the learner may train on at megabatch t besides the current megabatch (ALMA, Caccia et al. 2021; APP
/// spec §1.1).
public enum ReplayPolicy: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The union of every megabatch seen so far (APP's default and only setting in the paper).
    case full
    /// The current megabatch only (the code's `-no_replay`).
    case none
    /// The current megabatch plus at most `capacity` training examples drawn (seeded, without replacement) from
    /// the earlier megabatches' training parts; validation replays a proportional ⌊capacity·m_va/m_tr⌋ examples of
    /// the earlier validation parts. The draw at megabatch t is a pure function of (seed, t).
    case buffer(capacity: Int)

    public var description: String {
        switch self {
        case .full: return "full"
        case .none: return "none"
        case .buffer(let c): return "buffer:\(c)"
        }
    }

    /// Parses `full`, `none`, `buffer:N`.
    public init?(parsing text: String) {
        let t = text.lowercased()
        if t == "full" { self = .full; return }
        if t == "none" { self = .none; return }
        if t.hasPrefix("buffer:"), let n = Int(t.dropFirst("buffer:".count)), n >= 0 { self = .buffer(capacity: n); return }
        return nil
    }

    /// Coded as its description (`"full"`, `"none"`, `"buffer:N"`).
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = ReplayPolicy(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "replay must be full, none or buffer:N, got '\(text)'"))
        }
        self = p
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// `int(x)` of Python for a non-negative product that should be exact (`int(0.9 * 7500)`): truncation, except that a
/// value within 1e-9 (relative) below an integer counts as that integer, so 0.9·7500 = 6750.000000000001 and
/// 0.3·10 = 3.0000000000000004 both behave as the decimal arithmetic the spec's tables were derived with.
public func truncatedProduct(_ fraction: Double, _ n: Int) -> Int {
    let x = fraction * Double(n)
    let nearest = x.rounded()
    if abs(x - nearest) <= 1e-9 * max(1, x) { return Int(nearest) }
    return Int(x.rounded(.down))
}

/// The ALMA stream of APP (spec §1.1): a seeded shuffle of the training pool cut into |S_B| equal megabatches, each
/// split into a training part of m_tr = int(0.9·|M|) examples and a validation part of |M| − m_tr.
///
/// Indices are positions in the pool the stream was built for (the dataset's training set). Megabatch t is 1-based,
/// as in the paper. With |M| = ⌊N/|S_B|⌋, the N − |S_B|·|M| examples left over at the end of the shuffle are unused.
public struct AnytimeStream: Equatable, Sendable {
    /// Megabatch t (index t − 1): its training and validation indices into the pool.
    public let megabatches: [(train: [Int], validation: [Int])]
    /// |M|: examples per megabatch (training + validation part).
    public let megabatchSize: Int
    public let seed: UInt64

    public static func == (a: AnytimeStream, b: AnytimeStream) -> Bool {
        a.seed == b.seed && a.megabatchSize == b.megabatchSize && a.megabatches.count == b.megabatches.count
            && zip(a.megabatches, b.megabatches).allSatisfy { $0.train == $1.train && $0.validation == $1.validation }
    }

    /// - Parameters:
    ///   - poolCount: N, the number of training examples available.
    ///   - megabatches: |S_B| ≥ 1.
    ///   - poolSize: use only the first `poolSize` examples of the shuffled pool (quick runs); nil: all N.
    ///   - trainFraction: the training share of a megabatch (0.9 in the APP code).
    ///   - seed: the shuffle's seed; `shuffle: false` keeps the pool's own order (the APP code's CIFAR setting,
    ///     whose file order is already random).
    public init(poolCount: Int, megabatches: Int, poolSize: Int? = nil, trainFraction: Double = 0.9,
                seed: UInt64, shuffle: Bool = true) throws {
        guard megabatches >= 1 else { throw DataError("anytime stream: --megabatches must be at least 1, got \(megabatches)") }
        guard trainFraction > 0 && trainFraction < 1 else {
            throw DataError("anytime stream: the training share of a megabatch must be in (0, 1), got \(trainFraction)")
        }
        if let p = poolSize, p < 1 || p > poolCount {
            throw DataError("anytime stream: --pool-size must be between 1 and the \(poolCount) training examples, got \(p)")
        }
        let n = poolSize ?? poolCount
        let m = n / megabatches
        let mTrain = truncatedProduct(trainFraction, m)
        guard mTrain >= 1 && m - mTrain >= 1 else {
            throw DataError("anytime stream: \(n) examples in \(megabatches) megabatches give |M| = \(m), which leaves "
                + "\(mTrain) training and \(m - mTrain) validation examples per megabatch; each needs at least 1")
        }
        var g = Generator(seed: seed ^ 0xA1_3A_57_2E_A3)
        let order = shuffle ? Array(g.permutation(poolCount).prefix(n)) : Array(0..<n)
        self.megabatches = (0..<megabatches).map { t in
            let chunk = Array(order[(t * m)..<((t + 1) * m)])
            return (Array(chunk[..<mTrain]), Array(chunk[mTrain...]))
        }
        megabatchSize = m
        self.seed = seed
    }

    public var count: Int { megabatches.count }

    /// The training indices at megabatch t (1-based) under `replay`: current megabatch last, earlier ones first in
    /// stream order.
    public func trainIndices(at t: Int, replay: ReplayPolicy) -> [Int] {
        indices(at: t, replay: replay, training: true)
    }

    /// The validation indices at megabatch t under `replay`.
    public func validationIndices(at t: Int, replay: ReplayPolicy) -> [Int] {
        indices(at: t, replay: replay, training: false)
    }

    private func indices(at t: Int, replay: ReplayPolicy, training: Bool) -> [Int] {
        precondition(t >= 1 && t <= count, "AnytimeStream: megabatch \(t) out of 1...\(count)")
        func part(_ m: (train: [Int], validation: [Int])) -> [Int] { training ? m.train : m.validation }
        let current = part(megabatches[t - 1])
        switch replay {
        case .full: return megabatches[..<t].flatMap(part)
        case .none: return current
        case .buffer(let capacity):
            let earlier = megabatches[..<(t - 1)].flatMap(part)
            let mTrain = megabatches[0].train.count, mVal = megabatches[0].validation.count
            let k = training ? capacity : capacity * mVal / mTrain
            let stream: UInt64 = training ? 0x7124 : 0x7A11
            guard k < earlier.count else { return earlier + current }
            var g = Generator(seed: seed ^ (stream << 32) ^ UInt64(t))
            // Partial Fisher–Yates: k draws; kept in stream order so the result depends only on which were chosen.
            var pool = Array(0..<earlier.count)
            for i in 0..<k { pool.swapAt(i, i + g.nextInt(below: earlier.count - i)) }
            return pool[..<k].sorted().map { earlier[$0] } + current
        }
    }
}

/// How the pruning sample π_t is drawn from the replay-inclusive training set Tr_t (spec §1.3 step 1, §1.7).
public enum PruneSampleDraw: String, Codable, CaseIterable, Sendable {
    /// A seeded random subset (the paper: "a small randomly selected subset").
    case random
    /// The first items of Tr_t (the authors' code: `Subset(train_set_t, range(n))`, i.e. always part of M_1).
    case first
}

/// How large π_t is (spec §1.3 step 1).
public enum PruneSampleSize: String, Codable, CaseIterable, Sendable {
    /// int(f·|M_t|) with M_t the replay-inclusive megabatch (training + validation parts in the replay set at t) —
    /// the paper's wording; at t = 1 this is int(f·|M|).
    case replay
    /// int(f·|M|) of one megabatch at every t (the authors' code, `meta_batch_size · snip_size`).
    case megabatch
}

extension AnytimeStream {
    /// |π_t|: `fraction` of the replay-inclusive megabatch (or of one megabatch), capped at |Tr_t|.
    public func pruneSampleCount(at t: Int, replay: ReplayPolicy, fraction: Double, size: PruneSampleSize) -> Int {
        let train = trainIndices(at: t, replay: replay).count
        let base: Int
        switch size {
        case .megabatch: base = megabatchSize
        case .replay: base = train + validationIndices(at: t, replay: replay).count
        }
        return min(train, truncatedProduct(fraction, base))
    }

    /// π_t as indices into the pool: `count` items of `trainIndices(at: t, replay:)`, the first ones or a seeded random
    /// subset (a pure function of (seed, t)), in Tr_t order.
    public func pruneSample(at t: Int, replay: ReplayPolicy, count: Int, draw: PruneSampleDraw) -> [Int] {
        let train = trainIndices(at: t, replay: replay)
        let k = min(count, train.count)
        switch draw {
        case .first: return Array(train[..<k])
        case .random:
            var g = Generator(seed: seed ^ 0x5A3_9_1E00_0000 ^ UInt64(t))
            var pool = Array(0..<train.count)
            for i in 0..<k { pool.swapAt(i, i + g.nextInt(below: train.count - i)) }
            return pool[..<k].sorted().map { train[$0] }
        }
    }
}
