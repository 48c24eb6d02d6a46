import Foundation

/// The seeded random stream every random choice in Shears draws from.
///
/// xoshiro256** (Blackman & Vigna 2018) seeded through SplitMix64: integer-only arithmetic, so the bit
/// stream is identical on every machine and compiler. Floats are made from the top 24 bits (uniform in
/// [0, 1)); normals by Box–Muller in Double. `fork()` derives an independent child stream so that, e.g.,
/// data order and weight init do not shift when one of them draws a different number of values.
public struct Generator: Sendable, Codable, Equatable {
    // Four words of state as plain stored properties (an Array here costs a heap access per draw).
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    public var state: [UInt64] { [s0, s1, s2, s3] }

    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A new generator whose stream is independent of (and does not disturb the rest of) this one.
    public mutating func fork() -> Generator { Generator(seed: next()) }

    /// Uniform in [0, 1) with 24 bits of resolution.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 bits of resolution.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<n, without modulo bias (Lemire's method with rejection).
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "Generator.nextInt(below:): n must be positive, got \(n)")
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            let m = r.multipliedFullWidth(by: bound)
            if m.low >= threshold { return Int(m.high) }
        }
    }

    /// A standard normal sample (Box–Muller; each call consumes two uniforms).
    public mutating func nextNormal() -> Double {
        let u1 = 1.0 - nextDouble()   // (0, 1], keeps log finite
        let u2 = nextDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(below: i + 1)) } }
        return p
    }
}

// MARK: - random tensors and initialisers

extension Tensor {
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, generator g: inout Generator) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = low + (high - low) * g.nextFloat() }
        return t
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, generator g: inout Generator) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = mean + std * Float(g.nextNormal()) }
        return t
    }

    /// fan_in and fan_out of a weight, as `torch.nn.init._calculate_fan_in_and_fan_out`: dimension 1 and 0
    /// times the receptive field (the product of the remaining dimensions).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans: a weight needs at least 2 dimensions, got shape \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    public enum FanMode: String, Sendable { case fanIn, fanOut }

    /// He et al. (2015) normal init: N(0, gain² / fan), gain = √2 for ReLU (`kaiming_normal_`).
    public static func kaimingNormal(_ shape: [Int], mode: FanMode = .fanIn, gain: Float = Float(2).squareRoot(),
                                     generator g: inout Generator) -> Tensor {
        let f = fans(shape)
        let fan = Float(mode == .fanIn ? f.fanIn : f.fanOut)
        return normal(shape, mean: 0, std: gain / fan.squareRoot(), generator: &g)
    }

    /// He et al. (2015) uniform init: U(−b, b), b = gain·√(3 / fan) (`kaiming_uniform_`). With gain = √(1/3)
    /// (a = √5) this is PyTorch's default for `nn.Linear` and `nn.Conv2d` weights.
    public static func kaimingUniform(_ shape: [Int], mode: FanMode = .fanIn, gain: Float = Float(2).squareRoot(),
                                      generator g: inout Generator) -> Tensor {
        let f = fans(shape)
        let fan = Float(mode == .fanIn ? f.fanIn : f.fanOut)
        let bound = gain * (3 / fan).squareRoot()
        return uniform(shape, low: -bound, high: bound, generator: &g)
    }
}
