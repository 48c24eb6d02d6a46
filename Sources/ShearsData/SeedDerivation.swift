import Foundation

/// Seeds derived from a root seed and a few integers (stream tag, epoch, batch index).
///
/// Making each epoch's order and each batch's augmentation a pure function of (seed, epoch, batch) — rather
/// than of how many numbers were drawn before — is what lets a run resumed at (epoch, batch) see exactly the
/// batches the uninterrupted run saw, and lets a background thread prepare batches without sharing a
/// generator with anyone. The mixing is SplitMix64's finaliser applied after each part, so nearby inputs
/// (epoch 3 vs 4, seed 1 vs 2) give unrelated seeds.
enum SeedDerivation {
    /// Stream tags, so that the order and the augmentation of the same epoch never share a stream.
    static let orderStream: UInt64 = 0x6F72_6465_72       // "order"
    static let augmentationStream: UInt64 = 0x6175_676D_656E_74  // "augment"

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func derive(_ seed: UInt64, stream: UInt64, _ values: Int...) -> UInt64 {
        var h = mix(mix(seed) ^ stream)
        for v in values { h = mix(h ^ UInt64(bitPattern: Int64(v))) }
        return h
    }
}
