import Foundation
import ShearsTensor

/// Random training-time image augmentation, as torchvision's `RandomCrop(size, padding=p)` followed by
/// `RandomHorizontalFlip()`.
public struct Augmentation: Codable, Equatable, Sendable {
    /// Padding `p` for a random crop: pad every side with `p` zeros (black, before normalisation — as
    /// torchvision pads the PIL image), then crop a window of the original size at a uniformly random
    /// offset in 0...2p along each axis. `nil`: no crop.
    public var randomCrop: Int?
    /// Mirror left–right with probability 1/2.
    public var horizontalFlip: Bool

    public init(randomCrop: Int? = nil, horizontalFlip: Bool = false) {
        precondition((randomCrop ?? 0) >= 0, "Augmentation: crop padding must be non-negative, got \(randomCrop!)")
        self.randomCrop = randomCrop
        self.horizontalFlip = horizontalFlip
    }

    /// No augmentation.
    public static let none = Augmentation()
    /// The standard CIFAR recipe (He et al. 2016): pad 4 and random 32x32 crop, random horizontal flip.
    public static let cifar = Augmentation(randomCrop: 4, horizontalFlip: true)

    public var isIdentity: Bool { (randomCrop ?? 0) == 0 && !horizontalFlip }
}

/// The random choices for one image: the crop window's top-left corner in the padded image and the flip.
struct AugmentationChoice: Equatable {
    var dy = 0, dx = 0
    var flip = false
}

extension Augmentation {
    /// Draws one image's choices: crop row, crop column, then flip (only what is enabled is drawn).
    func draw(_ g: inout Generator) -> AugmentationChoice {
        var c = AugmentationChoice()
        if let p = randomCrop, p > 0 {
            c.dy = g.nextInt(below: 2 * p + 1)
            c.dx = g.nextInt(below: 2 * p + 1)
        }
        if horizontalFlip { c.flip = g.nextInt(below: 2) == 1 }
        return c
    }

    /// Writes one `[C, H, W]` image from `source` to `destination`: cropped, flipped, then normalised as
    /// `(x − mean[c]) / std[c]`, in one pass (the padded image is never materialised: a source pixel outside
    /// the image reads as the zero padding).
    static func render(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                       channels: Int, height h: Int, width w: Int, padding p: Int, choice: AugmentationChoice,
                       mean: [Float]?, std: [Float]?) {
        if choice.dx == p && choice.dy == p && !choice.flip {
            // No crop offset and no flip: a straight, vectorisable normalising copy of each channel plane.
            for ch in 0..<channels {
                let m = mean?[ch] ?? 0, s = std?[ch] ?? 1
                let inv = s == 0 ? 1 : 1 / s   // a zero std only centres (see DataLoader)
                let src = source + ch * h * w, dst = destination + ch * h * w
                for i in 0..<(h * w) { dst[i] = (src[i] - m) * inv }
            }
            return
        }
        for ch in 0..<channels {
            let m = mean?[ch] ?? 0, s = std?[ch] ?? 1
            let src = source + ch * h * w, dst = destination + ch * h * w
            for y in 0..<h {
                let sy = y + choice.dy - p
                let rowInside = sy >= 0 && sy < h
                for x in 0..<w {
                    let sx = (choice.flip ? w - 1 - x : x) + choice.dx - p
                    let v: Float = rowInside && sx >= 0 && sx < w ? src[sy * w + sx] : 0
                    dst[y * w + x] = (v - m) / s
                }
            }
        }
    }
}
