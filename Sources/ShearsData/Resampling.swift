import Foundation

/// Resize so that the shorter side is `size`, then center-crop `size × size` — torchvision's
/// `Resize(size)` + `CenterCrop(size)` — written straight into a `[3, size, size]` float slot in [0, 1].
///
/// The filter depends on the direction, per axis: **area averaging** when shrinking (each output pixel is
/// the mean of the source area it covers, partial pixels weighted by their overlap; OpenCV's `INTER_AREA`),
/// which does not alias the way plain bilinear does at large factors, and **bilinear** with half-pixel
/// centres when enlarging (`align_corners=False`, PyTorch's and OpenCV's convention; edge pixels
/// replicate). The same size is a copy. Both are separable: one horizontal pass over the source rows for
/// the cropped columns, then one vertical pass for the cropped rows.
///
/// Sizes: the longer side becomes `floor(size · long / short)` as torchvision computes it, and the crop
/// starts at `round((resized − size) / 2)` with Python's round-half-to-even.
enum Resampling {
    /// One output pixel's source pixels and weights along one axis (weights sum to 1).
    struct Taps {
        var indices: [Int] = []
        var weights: [Float] = []
    }

    /// The taps for output pixels `range` of an axis resized from `input` to `output` pixels.
    static func taps(input: Int, output: Int, range: Range<Int>) -> [Taps] {
        let scale = Double(input) / Double(output)
        return range.map { i in
            var t = Taps()
            if input == output {
                t.indices = [i]; t.weights = [1]
            } else if input > output {
                let lo = Double(i) * scale, hi = Double(i + 1) * scale
                var j = Int(lo.rounded(.down))
                while Double(j) < hi && j < input {
                    let overlap = min(Double(j + 1), hi) - max(Double(j), lo)
                    if overlap > 1e-12 { t.indices.append(j); t.weights.append(Float(overlap / scale)) }
                    j += 1
                }
            } else {
                let x = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(input - 1))
                let j0 = Int(x.rounded(.down)), j1 = min(j0 + 1, input - 1), f = x - Double(j0)
                t.indices = [j0, j1]; t.weights = [Float(1 - f), Float(f)]
            }
            return t
        }
    }

    /// The resized `(width, height)` of a `width × height` image whose shorter side becomes `size`.
    static func resizedShape(width: Int, height: Int, size: Int) -> (width: Int, height: Int) {
        if width <= height { return (size, Int(Double(size) * Double(height) / Double(width))) }
        return (Int(Double(size) * Double(width) / Double(height)), size)
    }

    static func cropStart(_ resized: Int, _ size: Int) -> Int {
        Int((Double(resized - size) / 2).rounded(.toNearestOrEven))
    }

    /// Writes `image` resized and center-cropped into `destination` (`[3, size, size]`, planar, /255).
    static func resizeAndCrop(_ image: RGBImage, size: Int, into destination: UnsafeMutablePointer<Float>) {
        let (rw, rh) = resizedShape(width: image.width, height: image.height, size: size)
        let x0 = cropStart(rw, size), y0 = cropStart(rh, size)
        let xTaps = taps(input: image.width, output: rw, range: x0..<(x0 + size))
        let yTaps = taps(input: image.height, output: rh, range: y0..<(y0 + size))
        // Horizontal pass over only the source rows the vertical taps use: rows × size × 3.
        let w = image.width
        var needed = [Int](repeating: -1, count: image.height)
        var rows: [Int] = []
        for t in yTaps { for j in t.indices where needed[j] < 0 { needed[j] = rows.count; rows.append(j) } }
        var horizontal = [Float](repeating: 0, count: rows.count * size * 3)
        image.pixels.withUnsafeBufferPointer { px in
            for (r, sy) in rows.enumerated() {
                let src = px.baseAddress! + sy * w * 3
                for (x, t) in xTaps.enumerated() {
                    var acc: (Float, Float, Float) = (0, 0, 0)
                    for (j, wt) in zip(t.indices, t.weights) {
                        acc.0 += wt * Float(src[3 * j]); acc.1 += wt * Float(src[3 * j + 1]); acc.2 += wt * Float(src[3 * j + 2])
                    }
                    let o = (r * size + x) * 3
                    horizontal[o] = acc.0; horizontal[o + 1] = acc.1; horizontal[o + 2] = acc.2
                }
            }
        }
        let plane = size * size
        for (y, t) in yTaps.enumerated() {
            for x in 0..<size {
                for c in 0..<3 {
                    var acc: Float = 0
                    for (j, wt) in zip(t.indices, t.weights) { acc += wt * horizontal[(needed[j] * size + x) * 3 + c] }
                    destination[c * plane + y * size + x] = min(max(acc / 255, 0), 1)
                }
            }
        }
    }
}
