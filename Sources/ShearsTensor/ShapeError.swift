/// Shape checks shared by every op. A mismatch is a programming error (as in PyTorch, where it raises), so the
/// op stops with a message that names the op and both shapes; `shapeMismatchMessage` is the one place that
/// message is built, so tests can check its wording.
public func shapeMismatchMessage(op: String, _ lhsName: String, _ lhs: [Int], _ rhsName: String, _ rhs: [Int],
                                 expected: String) -> String {
    "\(op): \(lhsName) has shape \(lhs) but \(rhsName) has shape \(rhs); expected \(expected)"
}

@usableFromInline
func checkShape(_ condition: @autoclosure () -> Bool, op: String, _ lhsName: String, _ lhs: [Int],
                _ rhsName: String, _ rhs: [Int], expected: String) {
    if !condition() {
        preconditionFailure(shapeMismatchMessage(op: op, lhsName, lhs, rhsName, rhs, expected: expected))
    }
}
