/// A point in training written the way people say it: `"80ep"` (epochs), `"1000it"` (iterations), or a
/// bare number of iterations. Resolved to iterations once the epoch length is known (OpenLTH's `Step`).
public struct StepSpec: Codable, Equatable, Sendable, CustomStringConvertible {
    public enum Unit: String, Codable, Sendable { case epochs = "ep", iterations = "it" }
    public let value: Int
    public let unit: Unit

    public init(_ value: Int, _ unit: Unit) { self.value = value; self.unit = unit }

    /// Parses `"80ep"`, `"1000it"`, `"1000"` or `"20K"` (thousands of iterations); nil for anything else (negative
    /// numbers and values over 10¹² included).
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let (digits, unit): (Substring, Unit) =
            t.hasSuffix("ep") ? (t.dropLast(2), .epochs) : t.hasSuffix("it") ? (t.dropLast(2), .iterations) : (Substring(t), .iterations)
        if unit == .iterations, digits.hasSuffix("k"), let k = Int(digits.dropLast()), k >= 0, k <= 1_000_000_000 {
            self.init(k * 1000, .iterations); return
        }
        guard let v = Int(digits), v >= 0, v <= 1_000_000_000_000 else { return nil }
        self.init(v, unit)
    }

    public func iterations(perEpoch: Int) -> Int { unit == .epochs ? value * perEpoch : value }
    public var description: String { "\(value)\(unit.rawValue)" }
}
