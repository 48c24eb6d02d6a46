// Gradient-check helpers: random seeded inputs, the relative-error metric, and `checkOp`, which checks an op's
// float32 forward against its Double reference (Reference.swift) and its analytic gradients (the tape) against
// central finite differences of the Double reference.

import XCTest
@testable import ShearsTensor

extension Tensor {
    /// The elements in logical row-major order, as Double.
    var doubles: [Double] { scalars.map(Double.init) }
}

/// Uniform in [low, high).
func randomTensor(_ shape: [Int], _ g: inout Generator, low: Float = -1, high: Float = 1) -> Tensor {
    Tensor.uniform(shape, low: low, high: high, generator: &g)
}

/// Values in [-1, 1] that are pairwise at least 2/count apart (a shuffled grid plus a little jitter), so that
/// max pooling has no ties and a finite-difference step never changes which element wins.
func distinctTensor(_ shape: [Int], _ g: inout Generator) -> Tensor {
    let n = shape.reduce(1, *)
    let perm = g.permutation(n)
    let values = perm.map { k in (Float(k) + 0.25 + 0.5 * g.nextFloat()) / Float(n) * 2 - 1 }
    return Tensor(shape: shape, scalars: values)
}

/// Values with |x| in [margin, 1] and a random sign: never near ReLU's kink.
func awayFromZeroTensor(_ shape: [Int], _ g: inout Generator, margin: Float = 0.05) -> Tensor {
    let n = shape.reduce(1, *)
    let values = (0..<n).map { _ -> Float in
        let m = margin + (1 - margin) * g.nextFloat()
        return g.nextFloat() < 0.5 ? -m : m
    }
    return Tensor(shape: shape, scalars: values)
}

/// The project's relative-error metric: max|a − n| / max(1, max|n|).
func relativeError(_ a: [Double], _ n: [Double]) -> Double {
    precondition(a.count == n.count, "relativeError: \(a.count) vs \(n.count) elements")
    var diff = 0.0, scale = 1.0
    for (x, y) in zip(a, n) {
        diff = max(diff, abs(x - y))
        scale = max(scale, abs(y))
    }
    return diff / scale
}

/// Central finite differences of a Double function of several arrays, with respect to array `k`.
func numericGradient(_ inputs: [[Double]], wrt k: Int, h: Double = 1e-6, _ f: ([[Double]]) -> Double) -> [Double] {
    var xs = inputs
    var grad = [Double](repeating: 0, count: xs[k].count)
    for j in 0..<xs[k].count {
        let x0 = xs[k][j]
        xs[k][j] = x0 + h
        let fp = f(xs)
        xs[k][j] = x0 - h
        let fm = f(xs)
        xs[k][j] = x0
        grad[j] = (fp - fm) / (2 * h)
    }
    return grad
}

/// One input of a checked op: a name for messages, its value, and whether its gradient is checked.
struct OpInput {
    var name: String
    var value: Tensor
    var differentiable = true
    init(_ name: String, _ value: Tensor, differentiable: Bool = true) {
        self.name = name
        self.value = value
        self.differentiable = differentiable
    }
}

/// The worst errors `checkOp` saw (for diagnostics).
struct OpCheckResult {
    var forwardError: Double
    var gradientErrors: [String: Double]
}

/// Checks one op on one set of inputs:
///
/// 1. forward: `op(inputs).value.scalars` (float32, logical order whatever the memory format) against
///    `reference(inputs as Double)`, relative error below `forwardTolerance`;
/// 2. gradients: with a fixed random r shaped like the output, L = Σ r ⊙ op(inputs) is back-propagated on the
///    tape, and ∂L/∂input for every differentiable input is compared with central finite differences (step h,
///    in Double) of Σ r ⊙ reference(inputs), relative error below `gradTolerance`. For rank-4 outputs the
///    objective is built twice, as mul(y, r) and as mul(r, y), so that the op's backward receives its incoming
///    gradient both in the output's own memory format and in the contiguous one.
@discardableResult
func checkOp(_ name: String, inputs: [OpInput], generator g: inout Generator,
             forwardTolerance: Double = 1e-4, gradTolerance: Double = 1e-3, h: Double = 1e-6,
             op: ([Variable]) -> Variable, reference: ([[Double]]) -> [Double],
             file: StaticString = #filePath, line: UInt = #line) -> OpCheckResult {
    measureOp(name, inputs: inputs, generator: &g, forwardTolerance: forwardTolerance, gradTolerance: gradTolerance,
              h: h, assert: true, op: op, reference: reference, file: file, line: line)
}

/// `checkOp`'s measurements; with `assert: false` it only reports the errors (used to test the checker itself).
func measureOp(_ name: String, inputs: [OpInput], generator g: inout Generator,
               forwardTolerance: Double = 1e-4, gradTolerance: Double = 1e-3, h: Double = 1e-6, assert: Bool,
               op: ([Variable]) -> Variable, reference: ([[Double]]) -> [Double],
               file: StaticString = #filePath, line: UInt = #line) -> OpCheckResult {
    let xsD = inputs.map(\.value.doubles)
    let refOut = reference(xsD)

    // Forward.
    let probe = op(inputs.map { Variable($0.value) })
    XCTAssertFalse(probe.requiresGrad, "\(name): output of non-differentiable inputs must not require grad", file: file, line: line)
    let y = probe.value
    XCTAssertEqual(y.count, refOut.count, "\(name): output has \(y.count) elements, reference \(refOut.count)", file: file, line: line)
    guard y.count == refOut.count else { return OpCheckResult(forwardError: .infinity, gradientErrors: [:]) }
    let fwdErr = relativeError(y.doubles, refOut)
    if assert { XCTAssertLessThan(fwdErr, forwardTolerance, "\(name): forward relative error \(fwdErr)", file: file, line: line) }

    // Analytic gradients.
    let r = randomTensor(y.shape, &g)
    let rD = r.doubles
    var analytic: [[[Double]?]] = []
    let orders = y.rank == 4 ? [false, true] : [false]
    for rFirst in orders {
        let leaves = inputs.map { Variable($0.value, requiresGrad: $0.differentiable) }
        let out = op(leaves)
        XCTAssertEqual(out.shape, y.shape, "\(name): output shape changed between calls", file: file, line: line)
        let rv = Variable(r)
        let loss = sum(rFirst ? mul(rv, out) : mul(out, rv))
        loss.backward()
        analytic.append(leaves.map { $0.grad?.doubles })
        for (leaf, input) in zip(leaves, inputs) where !input.differentiable {
            XCTAssertNil(leaf.grad, "\(name): \(input.name) does not require grad but received one", file: file, line: line)
        }
    }

    // Numeric gradients of the Double objective Σ r ⊙ reference(inputs).
    let objective: ([[Double]]) -> Double = { xs in
        let out = reference(xs)
        var s = 0.0
        for i in 0..<out.count { s += rD[i] * out[i] }
        return s
    }
    var errors: [String: Double] = [:]
    for (k, input) in inputs.enumerated() where input.differentiable {
        let numeric = numericGradient(xsD, wrt: k, h: h, objective)
        for (variant, grads) in analytic.enumerated() {
            let label = "\(name): ∂L/∂\(input.name)" + (variant == 1 ? " (contiguous incoming gradient)" : "")
            guard let a = grads[k] else {
                XCTFail("\(label): no gradient reached the input", file: file, line: line)
                continue
            }
            XCTAssertEqual(a.count, numeric.count, "\(label): gradient size", file: file, line: line)
            guard a.count == numeric.count else { continue }
            let err = relativeError(a, numeric)
            errors[input.name] = max(errors[input.name] ?? 0, err)
            if assert { XCTAssertLessThan(err, gradTolerance, "\(label): relative error \(err)", file: file, line: line) }
        }
    }
    if gradCheckVerbose {
        let grads = errors.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2e", $0.value))" }
        print("gradcheck \(name): forward \(String(format: "%.2e", fwdErr)); " + grads.joined(separator: ", "))
    }
    return OpCheckResult(forwardError: fwdErr, gradientErrors: errors)
}

/// Set SHEARS_GRADCHECK_VERBOSE=1 to print every checked op's worst forward and gradient errors.
let gradCheckVerbose = ProcessInfo.processInfo.environment["SHEARS_GRADCHECK_VERBOSE"] != nil

/// Asserts two float tensors hold the same logical values (same shape), up to a relative tolerance.
func assertSameValues(_ a: Tensor, _ b: Tensor, tolerance: Double = 0, _ message: String = "",
                      file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(message): shapes", file: file, line: line)
    guard a.shape == b.shape else { return }
    let err = relativeError(a.doubles, b.doubles)
    if tolerance == 0 {
        XCTAssertEqual(a.scalars, b.scalars, "\(message): values differ (relative error \(err))", file: file, line: line)
    } else {
        XCTAssertLessThanOrEqual(err, tolerance, "\(message): relative error \(err)", file: file, line: line)
    }
}

/// For shapes too large for element-by-element differences in a debug build (the ResNet shapes, where oneDNN
/// picks its blocked JIT kernels and reorders weights): checks the forward like `checkOp`, then compares
/// directional derivatives, (F(θ + h·d) − F(θ − h·d)) / 2h of the Double objective F = Σ r ⊙ reference
/// against ⟨∇L, d⟩ from the tape, for `directions` random directions d per differentiable input. A single
/// wrong gradient element of typical size moves ⟨∇L, d⟩ by about 1/√count of its value, far above the
/// tolerance for the sizes used here.
func checkOpDirectional(_ name: String, inputs: [OpInput], generator g: inout Generator, directions: Int = 2,
                        forwardTolerance: Double = 1e-4, tolerance: Double = 1e-3, h: Double = 1e-6,
                        op: ([Variable]) -> Variable, reference: ([[Double]]) -> [Double],
                        file: StaticString = #filePath, line: UInt = #line) {
    let d0 = inputs.map(\.value.doubles)
    let refOut = reference(d0)
    let leaves = inputs.map { Variable($0.value, requiresGrad: $0.differentiable) }
    let y = op(leaves)
    XCTAssertEqual(y.value.count, refOut.count, "\(name): output size", file: file, line: line)
    guard y.value.count == refOut.count else { return }
    let fwdErr = relativeError(y.value.doubles, refOut)
    XCTAssertLessThan(fwdErr, forwardTolerance, "\(name): forward relative error \(fwdErr)", file: file, line: line)
    let r = randomTensor(y.shape, &g)
    let rD = r.doubles
    sum(mul(y, Variable(r))).backward()
    func objective(_ d: [[Double]]) -> Double { zip(rD, reference(d)).reduce(0) { $0 + $1.0 * $1.1 } }
    var worst = 0.0
    for (k, input) in inputs.enumerated() where input.differentiable {
        guard let grad = leaves[k].grad?.doubles else {
            XCTFail("\(name): no gradient reached \(input.name)", file: file, line: line)
            continue
        }
        for _ in 0..<directions {
            let dir = randomTensor(input.value.shape, &g).doubles
            var plus = d0, minus = d0
            for j in 0..<dir.count { plus[k][j] += h * dir[j]; minus[k][j] -= h * dir[j] }
            let numeric = (objective(plus) - objective(minus)) / (2 * h)
            let analytic = zip(grad, dir).reduce(0.0) { $0 + $1.0 * $1.1 }
            let err = abs(analytic - numeric) / max(1, abs(numeric))
            worst = max(worst, err)
            XCTAssertLessThan(err, tolerance, "\(name): directional derivative along \(input.name): analytic \(analytic), numeric \(numeric)",
                              file: file, line: line)
        }
    }
    if gradCheckVerbose { print("gradcheck (directional) \(name): forward \(String(format: "%.2e", fwdErr)); worst \(String(format: "%.2e", worst))") }
}
