/// 2-D convolution (cross-correlation, as PyTorch's `F.conv2d`), dilation 1, groups 1.
///
/// - x: [N, C, H, W], weight: [O, C, KH, KW] (OIHW), bias: [O] or nil. Output [N, O, OH, OW] in
///   channels-last memory, OH = (H + 2·padding − KH) / stride + 1.
/// Forward and both backward passes run on oneDNN (Kernels/ConvKernel.swift). With grad mode off and a sparse
/// `weight.inferenceForm` attached, the forward runs on the sparse kernel (Kernels/SparseKernels.swift); with a
/// `weight.trainingForm`, forward and backward run on the sparse training kernels (Kernels/SparseTrainingConv.swift).
public func conv2d(_ x: Variable, weight: Variable, bias: Variable? = nil, stride: Int = 1, padding: Int = 0) -> Variable {
    let xs = x.shape, ws = weight.shape
    checkShape(xs.count == 4 && ws.count == 4 && xs[1] == ws[1], op: "conv2d", "input", xs, "weight", ws,
               expected: "input [N, C, H, W] and weight [O, C, KH, KW] with the same C")
    if let bias {
        checkShape(bias.shape == [ws[0]], op: "conv2d", "bias", bias.shape, "weight", ws, expected: "bias [O]")
    }
    precondition(stride >= 1 && padding >= 0, "conv2d: stride must be ≥ 1 and padding ≥ 0, got stride \(stride), padding \(padding)")
    precondition(xs[2] + 2 * padding >= ws[2] && xs[3] + 2 * padding >= ws[3],
                 "conv2d: kernel \(ws[2])×\(ws[3]) larger than padded input \(xs[2] + 2 * padding)×\(xs[3] + 2 * padding)")

    WeightUseRecorder.note("conv2d", x, weight, bias, stride: stride, padding: padding)
    if !GradMode.isEnabled, let form = weight.inferenceForm {   // no tape: the prepared sparse form may run
        return Variable(sparseConv2d(x.value, weight: form, bias: bias?.value, stride: stride, padding: padding),
                        op: "conv2d (sparse)", inputs: []) { _ in [] }
    }
    if let form = weight.trainingForm {   // fixed-structure sparse weight: sparse forward and backward
        return sparseTrainingConv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, form: form)
    }
    let plan = ConvPlan.plan(input: xs, weight: ws, bias: bias != nil, stride: stride, padding: padding)
    let xin = x.value.channelsLast()
    let w = weight.value.contiguous()
    let y = plan.forward(x: xin, w: w, b: bias?.value)

    let needX = x.requiresGrad
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(y, op: "conv2d", inputs: inputs) { gyAny in
        let gy = gyAny.channelsLast()
        let gx = needX ? plan.backwardData(gy: gy, w: w, inputShape: xs) : nil
        let (gw, gb) = plan.backwardWeights(x: xin, gy: gy, weightShape: ws)
        return bias == nil ? [gx, gw] : [gx, gw, gb]
    }
}
