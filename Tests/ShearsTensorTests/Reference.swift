// Naive Double-precision reference implementations of every differentiable op in ShearsTensor.
//
// These are deliberately plain loops written straight from the PyTorch definitions (no oneDNN, no BLAS, no
// memory formats: every array is the logical row-major order of its shape), so that they can serve both as
// the forward oracle and as the function whose central finite differences the analytic gradients are
// checked against. Keep them simple rather than fast.

import Foundation

enum Ref {
    // MARK: convolution and dense layers

    /// `F.conv2d` (cross-correlation), NCHW input [N, C, H, W], OIHW weight [O, C, KH, KW], optional bias [O],
    /// symmetric zero padding, dilation 1, groups 1. Returns the output and its shape [N, O, OH, OW].
    static func conv2d(_ x: [Double], _ xs: [Int], _ w: [Double], _ ws: [Int], bias: [Double]?,
                       stride: Int, padding: Int) -> (y: [Double], shape: [Int]) {
        let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3])
        let (o, kh, kw) = (ws[0], ws[2], ws[3])
        precondition(ws[1] == c)
        let oh = (h + 2 * padding - kh) / stride + 1
        let ow = (wd + 2 * padding - kw) / stride + 1
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n {
            for oc in 0..<o {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var acc = bias?[oc] ?? 0
                        for ic in 0..<c {
                            for p in 0..<kh {
                                let r = i * stride - padding + p
                                if r < 0 || r >= h { continue }
                                for q in 0..<kw {
                                    let s = j * stride - padding + q
                                    if s < 0 || s >= wd { continue }
                                    acc += x[((b * c + ic) * h + r) * wd + s] * w[((oc * c + ic) * kh + p) * kw + q]
                                }
                            }
                        }
                        y[((b * o + oc) * oh + i) * ow + j] = acc
                    }
                }
            }
        }
        return (y, [n, o, oh, ow])
    }

    /// `F.linear`: y = x·Wᵀ + b, x [N, in], W [out, in], b [out].
    static func linear(_ x: [Double], _ xs: [Int], _ w: [Double], _ ws: [Int], bias: [Double]?) -> [Double] {
        let (n, inF, outF) = (xs[0], xs[1], ws[0])
        precondition(ws[1] == inF)
        var y = [Double](repeating: 0, count: n * outF)
        for i in 0..<n {
            for o in 0..<outF {
                var acc = bias?[o] ?? 0
                for k in 0..<inF { acc += x[i * inF + k] * w[o * inF + k] }
                y[i * outF + o] = acc
            }
        }
        return y
    }

    /// Matrix product [m, k]·[k, n].
    static func matmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var y = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for t in 0..<k { acc += a[i * k + t] * b[t * n + j] }
                y[i * n + j] = acc
            }
        }
        return y
    }

    // MARK: batch normalisation

    /// Channel count, and the number of values per channel, of a [N, C] or [N, C, H, W] shape.
    private static func bnGeometry(_ xs: [Int]) -> (n: Int, c: Int, hw: Int) {
        (xs[0], xs[1], xs.count == 4 ? xs[2] * xs[3] : 1)
    }

    /// Per-channel batch mean and *biased* variance of a [N, C] or [N, C, H, W] input.
    static func batchStats(_ x: [Double], _ xs: [Int]) -> (mean: [Double], biasedVar: [Double]) {
        let (n, c, hw) = bnGeometry(xs)
        let m = Double(n * hw)
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            var s = 0.0
            for b in 0..<n { for p in 0..<hw { s += x[(b * c + ch) * hw + p] } }
            let mu = s / m
            var v = 0.0
            for b in 0..<n { for p in 0..<hw { let d = x[(b * c + ch) * hw + p] - mu; v += d * d } }
            mean[ch] = mu
            variance[ch] = v / m
        }
        return (mean, variance)
    }

    /// y = γ·(x − μ)/√(σ² + eps) + β per channel with the given statistics.
    static func normalize(_ x: [Double], _ xs: [Int], mean: [Double], variance: [Double],
                          gamma: [Double], beta: [Double], eps: Double) -> [Double] {
        let (n, c, hw) = bnGeometry(xs)
        var y = [Double](repeating: 0, count: x.count)
        for b in 0..<n {
            for ch in 0..<c {
                let inv = 1 / (variance[ch] + eps).squareRoot()
                for p in 0..<hw {
                    let i = (b * c + ch) * hw + p
                    y[i] = gamma[ch] * (x[i] - mean[ch]) * inv + beta[ch]
                }
            }
        }
        return y
    }

    /// Batch norm in training mode: batch mean and biased batch variance.
    static func batchNormTrain(_ x: [Double], _ xs: [Int], gamma: [Double], beta: [Double], eps: Double = 1e-5) -> [Double] {
        let s = batchStats(x, xs)
        return normalize(x, xs, mean: s.mean, variance: s.biasedVar, gamma: gamma, beta: beta, eps: eps)
    }

    /// Batch norm in evaluation mode: the given running statistics.
    static func batchNormEval(_ x: [Double], _ xs: [Int], gamma: [Double], beta: [Double],
                              runningMean: [Double], runningVar: [Double], eps: Double = 1e-5) -> [Double] {
        normalize(x, xs, mean: runningMean, variance: runningVar, gamma: gamma, beta: beta, eps: eps)
    }

    // MARK: activations and pooling

    static func relu(_ x: [Double]) -> [Double] { x.map { max($0, 0) } }

    /// Output spatial size of a floor-mode pooling window.
    static func poolOut(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (size + 2 * padding - kernel) / stride + 1
    }

    /// `F.max_pool2d` (floor mode; padding acts as −∞, i.e. is never chosen).
    static func maxPool2d(_ x: [Double], _ xs: [Int], kernel: Int, stride: Int, padding: Int) -> (y: [Double], shape: [Int]) {
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3])
        let oh = poolOut(h, kernel: kernel, stride: stride, padding: padding)
        let ow = poolOut(w, kernel: kernel, stride: stride, padding: padding)
        var y = [Double](repeating: 0, count: n * c * oh * ow)
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var m = -Double.infinity
                    for p in 0..<kernel {
                        let r = i * stride - padding + p
                        if r < 0 || r >= h { continue }
                        for q in 0..<kernel {
                            let s = j * stride - padding + q
                            if s < 0 || s >= w { continue }
                            m = max(m, x[(plane * h + r) * w + s])
                        }
                    }
                    y[(plane * oh + i) * ow + j] = m
                }
            }
        }
        return (y, [n, c, oh, ow])
    }

    /// `F.avg_pool2d` with `count_include_pad=True` (floor mode, so every window lies inside the padded
    /// input and the divisor is always kernel²).
    static func avgPool2d(_ x: [Double], _ xs: [Int], kernel: Int, stride: Int, padding: Int) -> (y: [Double], shape: [Int]) {
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3])
        let oh = poolOut(h, kernel: kernel, stride: stride, padding: padding)
        let ow = poolOut(w, kernel: kernel, stride: stride, padding: padding)
        var y = [Double](repeating: 0, count: n * c * oh * ow)
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var s = 0.0
                    for p in 0..<kernel {
                        let r = i * stride - padding + p
                        if r < 0 || r >= h { continue }
                        for q in 0..<kernel {
                            let col = j * stride - padding + q
                            if col < 0 || col >= w { continue }
                            s += x[(plane * h + r) * w + col]
                        }
                    }
                    y[(plane * oh + i) * ow + j] = s / Double(kernel * kernel)
                }
            }
        }
        return (y, [n, c, oh, ow])
    }

    /// `adaptive_avg_pool2d(x, 1).flatten(1)`: [N, C, H, W] → [N, C].
    static func globalAvgPool2d(_ x: [Double], _ xs: [Int]) -> [Double] {
        let (nc, hw) = (xs[0] * xs[1], xs[2] * xs[3])
        return (0..<nc).map { plane in (0..<hw).reduce(0.0) { $0 + x[plane * hw + $1] } / Double(hw) }
    }

    // MARK: elementwise, shape and reductions

    static func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 + $1 } }
    static func sub(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 - $1 } }
    static func mul(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 * $1 } }
    static func multiply(_ x: [Double], constant c: [Double]) -> [Double] { zip(x, c).map { $0 * $1 } }
    static func scale(_ x: [Double], by s: Double) -> [Double] { x.map { $0 * s } }
    /// Reshape and flatten do not move elements in row-major order.
    static func reshape(_ x: [Double]) -> [Double] { x }
    static func sum(_ x: [Double]) -> Double { x.reduce(0, +) }
    static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

    // MARK: losses

    /// `F.cross_entropy(z, y, reduction)`: mean or sum over rows of logsumexp(z_i) − z_i[y_i].
    static func softmaxCrossEntropy(_ z: [Double], n: Int, k: Int, labels: [Int32], mean: Bool) -> Double {
        var total = 0.0
        for i in 0..<n {
            let row = Array(z[(i * k)..<(i * k + k)])
            let m = row.max()!
            let lse = m + log(row.reduce(0.0) { $0 + exp($1 - m) })
            total += lse - row[Int(labels[i])]
        }
        return mean ? total / Double(n) : total
    }

    /// `F.mse_loss(p, t, reduction)`.
    static func mse(_ p: [Double], _ t: [Double], mean: Bool) -> Double {
        let s = zip(p, t).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return mean ? s / Double(p.count) : s
    }
}
