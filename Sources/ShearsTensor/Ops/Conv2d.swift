/// 2-D convolution (cross-correlation, as PyTorch's `F.conv2d`).
///
/// - x: [N, C, H, W], weight: [O, C / groups, KH, KW] (OIHW), bias: [O] or nil. Output [N, O, OH, OW] in
///   channels-last memory, OH = (H + 2·padding − dilation·(KH − 1) − 1) / stride + 1.
/// - groups: C and O split into `groups` blocks, block g of the output sees block g of the input only
///   (depthwise: groups = C); dilation: kernel taps `dilation` pixels apart.
/// Forward and both backward passes run on oneDNN (Kernels/ConvKernel.swift). With grad mode off and a sparse
/// `weight.inferenceForm` attached, the forward of a dense (groups 1, dilation 1) convolution runs on the sparse
/// kernel (Kernels/SparseKernels.swift), which has no grouped or dilated form; with a `weight.trainingForm` (groups 1,
/// dilation 1), forward and backward run on the sparse training kernels (Kernels/SparseTrainingConv.swift).
public func conv2d(_ x: Variable, weight: Variable, bias: Variable? = nil, stride: Int = 1, padding: Int = 0,
                   dilation: Int = 1, groups: Int = 1) -> Variable {
    let xs = x.shape, ws = weight.shape
    precondition(groups >= 1 && dilation >= 1, "conv2d: groups and dilation must be ≥ 1, got groups \(groups), dilation \(dilation)")
    checkShape(xs.count == 4 && ws.count == 4 && xs[1] == ws[1] * groups && ws[0] % groups == 0,
               op: "conv2d", "input", xs, "weight", ws,
               expected: "input [N, C, H, W] and weight [O, C / groups, KH, KW] with groups = \(groups) dividing C and O")
    if let bias {
        checkShape(bias.shape == [ws[0]], op: "conv2d", "bias", bias.shape, "weight", ws, expected: "bias [O]")
    }
    precondition(stride >= 1 && padding >= 0, "conv2d: stride must be ≥ 1 and padding ≥ 0, got stride \(stride), padding \(padding)")
    let (kh, kw) = (dilation * (ws[2] - 1) + 1, dilation * (ws[3] - 1) + 1)
    precondition(xs[2] + 2 * padding >= kh && xs[3] + 2 * padding >= kw,
                 "conv2d: kernel \(kh)×\(kw) (dilation \(dilation)) larger than padded input \(xs[2] + 2 * padding)×\(xs[3] + 2 * padding)")

    let dense = groups == 1 && dilation == 1
    if dense { WeightUseRecorder.note("conv2d", x, weight, bias, stride: stride, padding: padding) }
    if dense, !GradMode.isEnabled, let form = weight.inferenceForm {   // no tape: the prepared sparse form may run
        return Variable(sparseConv2d(x.value, weight: form, bias: bias?.value, stride: stride, padding: padding),
                        op: "conv2d (sparse)", inputs: []) { _ in [] }
    }
    if let form = weight.trainingForm, dilation == 1, groups == 1 {   // fixed-structure sparse weight: sparse forward and backward
        return sparseTrainingConv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, form: form)
    }
    let plan = ConvPlan.plan(input: xs, weight: ws, bias: bias != nil, stride: stride, padding: padding,
                             dilation: dilation, groups: groups)
    let xin = x.value.channelsLast()
    let w = weight.value.contiguous()
    let y = plan.forward(x: xin, w: w, b: bias?.value)

    let needX = x.requiresGrad
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let geometry = OpAttributes.conv(stride: stride, padding: padding, dilation: dilation, groups: groups)
    return Variable(y, op: "conv2d", inputs: inputs, attributes: geometry) { gyAny in
        let gy = gyAny.channelsLast()
        let gx = needX ? plan.backwardData(gy: gy, w: w, inputShape: xs) : nil
        let (gw, gb) = plan.backwardWeights(x: xin, gy: gy, weightShape: ws)
        return bias == nil ? [gx, gw] : [gx, gw, gb]
    }
}
