import CSparseKernels
import Foundation

// The sparse training convolution: the `.direct` plane layout over the whole batch (see the comment at the top of
// SparseTrainingKernels.swift for the three products and why the backward to the input needs no col2im).

/// `conv2d` with a sparse training form: the same result as the dense `conv2d` (channels-last output), the
/// backward to the input as a transposed sparse product, and the weight gradient at the kept entries only.
public func sparseTrainingConv2d(_ x: Variable, weight: Variable, bias: Variable?, stride s: Int, padding p: Int,
                                 form: SparseTrainingWeight) -> Variable {
    let geo = TrainingConvGeometry(input: x.shape, weight: weight.shape, stride: s, padding: p)
    let vals = form.values(of: weight.value)
    let off = form.offsets("conv \(geo.key)") { geo.forwardOffsets(form.colIdx) }
    let xin = x.value.channelsLast()
    let planes = Tensor(uninitializedShape: [geo.xRows * geo.t + geo.maxShift + 1])
    withExtendedLifetime(xin) { geo.fillPlanes(from: xin.storage.pointer, into: planes.storage.pointer) }
    let yPlanes = Tensor(uninitializedShape: [geo.o * geo.t])
    trainRows(rowPtr: form.rowPtr, offsets: off, values: vals.csr, rows: geo.o, x: planes.storage.pointer,
              y: yPlanes.storage.pointer, ldy: geo.t, positions: geo.t)
    let y = Tensor(uninitializedShape: [geo.n, geo.o, geo.oh, geo.ow], format: .channelsLast)
    geo.writeOutput(yPlanes.storage.pointer, into: y.storage.pointer, bias: bias?.value.storage.pointer)

    let needX = x.requiresGrad
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(y, op: "conv2d (sparse training)", inputs: inputs) { gyAny in
        let gy = gyAny.channelsLast()
        // The output gradient in plane geometry, behind a zero margin for the backward's negative shifts.
        let margin = geo.maxShift
        let gyPlanes = Tensor(uninitializedShape: [margin + geo.o * geo.t])
        withExtendedLifetime(gy) { geo.readOutputGradient(gy.storage.pointer, into: gyPlanes.storage.pointer + margin) }
        let g = UnsafePointer(gyPlanes.storage.pointer + margin)
        let gw = form.weightGradient == .dense
            ? ConvPlan.plan(input: x.shape, weight: weight.shape, bias: false, stride: s, padding: p)
                .backwardWeights(x: xin, gy: gy, weightShape: weight.shape).0
            : form.denseGradient(trainWeightGradient(rowPtr: form.rowPtr, offsets: off, rows: geo.o, x: planes.storage.pointer,
                                                     dy: g, lddy: geo.t, positions: geo.t))
        var gb: Tensor?
        if bias != nil {
            let b = Tensor(uninitializedShape: [geo.o])
            shears_train_row_sums(g, Int64(geo.t), Int64(geo.o), Int64(geo.t), b.storage.pointer)
            gb = b
        }
        var gx: Tensor?
        if needX {
            let back = form.grouping("conv planes \(geo.key)", groups: geo.xRows) { geo.planeOfEntries(form.colIdx) }
            let offT = form.offsets("convT \(geo.key)") { geo.backwardOffsets(form, order: back.order) }
            let valsT = back.order.map { vals.csr[Int($0)] }
            let gxPlanes = Tensor(uninitializedShape: [geo.xRows * geo.t])
            trainRows(rowPtr: back.ptr, offsets: offT, values: valsT, rows: geo.xRows, x: g,
                      y: gxPlanes.storage.pointer, ldy: geo.t, positions: geo.t)
            let t = Tensor(uninitializedShape: [geo.n, geo.c, geo.h, geo.wd], format: .channelsLast)
            geo.readPlanes(gxPlanes.storage.pointer, into: t.storage.pointer)
            gx = t
        }
        withExtendedLifetime(gyPlanes) {}
        return bias == nil ? [gx, gw] : [gx, gw, gb]
    }
}

/// The plane layout of one training convolution: the input as C·s² zero-padded planes of Hq × Wq per image,
/// the batch's planes side by side in rows of `t` positions (N·Hq·Wq rounded up to 32).
struct TrainingConvGeometry {
    let n, c, h, wd, o, kh, kw, s, p, oh, ow, hq, wq, perImage, t, xRows: Int
    /// The largest shift of a tap within a plane, (KH−1)/s·Wq + (KW−1)/s.
    let maxShift: Int

    init(input x: [Int], weight w: [Int], stride: Int, padding: Int) {
        (n, c, h, wd) = (x[0], x[1], x[2], x[3])
        (o, kh, kw) = (w[0], w[2], w[3])
        (s, p) = (stride, padding)
        oh = (h + 2 * p - kh) / s + 1
        ow = (wd + 2 * p - kw) / s + 1
        hq = (h + 2 * p + s - 1) / s
        wq = (wd + 2 * p + s - 1) / s
        perImage = hq * wq
        t = roundUp32(n * perImage)
        xRows = c * s * s
        maxShift = ((kh - 1) / s) * wq + (kw - 1) / s
    }

    var key: String { "\(n) \(h) \(wd) \(s) \(p)" }

    /// Entry (c, ki, kj) reads plane (c, ki mod s, kj mod s) shifted by (ki / s)·Wq + kj / s.
    func plane(ofColumn col: Int) -> Int {
        let (ch, ki, kj) = (col / (kh * kw), (col / kw) % kh, col % kw)
        return (ch * s + ki % s) * s + kj % s
    }
    func shift(ofColumn col: Int) -> Int { ((col / kw) % kh / s) * wq + (col % kw) / s }

    func forwardOffsets(_ colIdx: [Int32]) -> [Int64] {
        colIdx.map { Int64(plane(ofColumn: Int($0)) * t + shift(ofColumn: Int($0))) }
    }
    func planeOfEntries(_ colIdx: [Int32]) -> [Int32] { colIdx.map { Int32(plane(ofColumn: Int($0))) } }

    /// For the entries grouped by plane (`order`: CSR indices), where each reads the output gradient: its output
    /// row, shifted back by its tap.
    func backwardOffsets(_ form: SparseTrainingWeight, order: [Int32]) -> [Int64] {
        let rowOf = form.rowOfEntry
        return order.map { j in
            Int64(Int(rowOf[Int(j)]) * t - shift(ofColumn: Int(form.colIdx[Int(j)])))
        }
    }

    /// Pixel runs of one input row that land in one plane row: (image b, input row i, column phase pb) → the
    /// first pixel j0, the pixel count, and where the run starts in the planes.
    func forEachRun(_ body: (_ pixel: Int, _ count: Int, _ planeStart: Int) -> Void) {
        for b in 0..<n {
            for i in 0..<h {
                let (pa, pi) = ((i + p) % s, (i + p) / s)
                for pb in 0..<s {
                    let j0 = ((pb - p) % s + s) % s
                    guard j0 < wd else { continue }
                    body((b * h + i) * wd + j0, (wd - j0 + s - 1) / s, (pa * s + pb) * t + b * perImage + pi * wq + (j0 + p) / s)
                }
            }
        }
    }

    /// NHWC input → zeroed planes holding it.
    func fillPlanes(from x: UnsafePointer<Float>, into planes: UnsafeMutablePointer<Float>) {
        planes.initialize(repeating: 0, count: xRows * t + maxShift + 1)
        forEachRun { pixel, count, start in
            shears_transpose(x + pixel * c, Int64(s * c), planes + start, Int64(s * s * t), Int64(count), Int64(c), nil)
        }
    }

    /// Planes → NHWC (the input gradient; padding positions are dropped).
    func readPlanes(_ planes: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>) {
        forEachRun { pixel, count, start in
            shears_transpose(planes + start, Int64(s * s * t), x + pixel * c, Int64(s * c), Int64(c), Int64(count), nil)
        }
    }

    /// The product's rows [O, t] → the NHWC output (+ bias): the valid OH × OW positions of each image.
    func writeOutput(_ yPlanes: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?) {
        for b in 0..<n {
            for i in 0..<oh {
                shears_transpose(yPlanes + b * perImage + i * wq, Int64(t), y + (b * oh + i) * ow * o, Int64(o),
                                 Int64(o), Int64(ow), bias)
            }
        }
    }

    /// The NHWC output gradient → rows [O, t] in plane geometry, 0 at every position outside the real output.
    func readOutputGradient(_ gy: UnsafePointer<Float>, into g: UnsafeMutablePointer<Float>) {
        (g - maxShift).initialize(repeating: 0, count: maxShift + o * t)
        for b in 0..<n {
            for i in 0..<oh {
                shears_transpose(gy + (b * oh + i) * ow * o, Int64(o), g + b * perImage + i * wq, Int64(t), Int64(ow), Int64(o), nil)
            }
        }
    }
}
