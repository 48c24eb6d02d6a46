import Foundation

/// One Codable description of every learning-rate schedule: a registered name and its named parameters.
///
/// Its JSON is flat — `{"name": "multistep", "milestones": ["80ep", "120ep"], "gamma": 0.1}` — and so is its text
/// form, `multistep:milestones=80ep;120ep,gamma=0.1`, which the CLI accepts wherever a schedule is named. Numbers are
/// `Double`; points in training are `StepSpec`s ("80ep", "1000it", or a bare number of iterations), resolved once the
/// epoch length is known. `ScheduleRegistry.make(spec, context)` is the one factory; every training command, every
/// protocol and the oracle build their schedules through it.
public struct ScheduleSpec: Codable, Equatable, Sendable, CustomStringConvertible {
    /// One parameter: a number or a list of points in training.
    public enum Value: Codable, Equatable, Sendable {
        case number(Double)
        case steps([StepSpec])

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { self = .number(d); return }
            let texts = try c.decode([String].self)
            var steps: [StepSpec] = []
            for t in texts {
                guard let s = StepSpec(parsing: t) else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(t)' is not a step (e.g. 80ep, 1000it)")
                }
                steps.append(s)
            }
            self = .steps(steps)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .number(let d): try c.encode(d)
            case .steps(let s): try c.encode(s.map(\.description))
            }
        }

        var text: String {
            switch self {
            case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
            case .steps(let s): return s.map(\.description).joined(separator: ";")
            }
        }
    }

    public var name: String
    public var parameters: [String: Value]

    /// How messages name a parameter: its key and the CLI flag that sets it (`beta (--beta)`).
    public static func label(_ key: String) -> String {
        let flag = ["lower": "--cyclic-lower", "upper": "--cyclic-upper"][key] ?? "--" + key.replacingOccurrences(of: "_", with: "-")
        return "\(key) (\(flag))"
    }

    public init(_ name: String, _ parameters: [String: Value] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    public static let constant = ScheduleSpec("constant")

    // MARK: reading parameters (the factories' side)

    /// A number parameter, `fallback` when absent; an error naming the schedule and parameter when it is a list.
    public func number(_ key: String, default fallback: Double? = nil) throws -> Double {
        switch parameters[key] {
        case .number(let d)?:
            guard d.isFinite else { throw ScheduleError("\(name): \(Self.label(key)) must be a finite number, got \(d)") }
            return d
        case .steps?: throw ScheduleError("\(name): \(Self.label(key)) must be a number, got a list of steps")
        case nil:
            guard let fallback else { throw ScheduleError("\(name) needs \(Self.label(key))") }
            return fallback
        }
    }

    /// An optional number parameter.
    public func optionalNumber(_ key: String) throws -> Double? {
        parameters[key] == nil ? nil : try number(key)
    }

    /// A whole-number parameter (counts such as q), `fallback` when absent.
    public func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
        let d = try number(key, default: fallback.map(Double.init))
        guard d == d.rounded(), abs(d) < 1e15 else { throw ScheduleError("\(name): \(Self.label(key)) must be a whole number, got \(d)") }
        return Int(d)
    }

    /// A list of points in training, in iterations (a bare number is an iteration count), `[]` when absent.
    public func iterations(_ key: String, perEpoch bpe: Int) throws -> [Int] {
        switch parameters[key] {
        case .steps(let s)?: return try s.map { try Self.resolve($0, perEpoch: bpe, key: key, schedule: name) }
        case .number(let d)?:
            guard d == d.rounded(), d >= 0, d < 1e15 else { throw ScheduleError("\(name): \(Self.label(key)) must be a step ≥ 0, got \(d)") }
            return [Int(d)]
        case nil: return []
        }
    }

    /// One point in training, in iterations; nil when absent.
    public func iteration(_ key: String, perEpoch bpe: Int) throws -> Int? {
        let all = try iterations(key, perEpoch: bpe)
        guard all.count <= 1 else { throw ScheduleError("\(name): \(Self.label(key)) is one step, got \(all.count)") }
        return all.first
    }

    static func resolve(_ s: StepSpec, perEpoch bpe: Int, key: String, schedule: String) throws -> Int {
        let (v, overflow) = s.unit == .epochs ? s.value.multipliedReportingOverflow(by: bpe) : (s.value, false)
        guard !overflow else { throw ScheduleError("\(schedule): \(label(key)) \(s) is too large (\(s.value) × \(bpe) iterations per epoch)") }
        return v
    }

    // MARK: text form

    /// `name` or `name:key=value,key=value`; lists of steps are joined with `;` (`milestones=80ep;120ep`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard let head = parts.first, !head.isEmpty else { throw ScheduleError("'\(text)' is not a schedule; expected NAME[:key=value,…]") }
        var params: [String: Value] = [:]
        if parts.count > 1 {
            for item in parts[1].split(separator: ",") {
                let kv = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, !kv[0].isEmpty else { throw ScheduleError("'\(item)' in '\(text)' is not key=value") }
                params[kv[0]] = try Self.parseValue(kv[1], key: kv[0])
            }
        }
        self.init(head.lowercased(), params)
    }

    /// A number, or a `;`-separated list of steps (`80ep;120ep`, `1000it`).
    public static func parseValue(_ text: String, key: String) throws -> Value {
        if !text.contains(";"), !text.hasSuffix("ep"), !text.hasSuffix("it"), let d = Double(text) {
            guard d.isFinite else { throw ScheduleError("\(key)=\(text) is not a finite number") }
            return .number(d)
        }
        var steps: [StepSpec] = []
        for t in text.split(separator: ";") {
            guard let s = StepSpec(parsing: String(t)) else {
                throw ScheduleError("\(key)=\(text): '\(t)' is neither a number nor a step (e.g. 80ep, 1000it)")
            }
            steps.append(s)
        }
        guard !steps.isEmpty else { throw ScheduleError("\(key)= needs a value") }
        return .steps(steps)
    }

    public var description: String {
        parameters.isEmpty ? name : name + ":" + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!.text)" }.joined(separator: ",")
    }

    // MARK: Codable: flat

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        name = try c.decode(String.self, forKey: Key(stringValue: "name"))
        var params: [String: Value] = [:]
        for k in c.allKeys where k.stringValue != "name" { params[k.stringValue] = try c.decode(Value.self, forKey: k) }
        parameters = params
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: Key(stringValue: "name"))
        for (k, v) in parameters { try c.encode(v, forKey: Key(stringValue: k)) }
    }
}

/// What a schedule may depend on besides its own parameters, known once the data and the training length are.
public struct ScheduleContext: Sendable {
    /// The base learning rate (`--lr`): the constant rate, the peak of warmups, the start of decays.
    public var baseLR: Float
    public var iterationsPerEpoch: Int
    /// Iterations of one training (one cycle of iterative pruning).
    public var totalIterations: Int
    /// The pruning rate p of an iterative-pruning run (S-Cyc's Eq. 2 depends on it); nil elsewhere.
    public var pruningRate: Double?

    public init(baseLR: Float, iterationsPerEpoch: Int, totalIterations: Int, pruningRate: Double? = nil) {
        self.baseLR = baseLR
        self.iterationsPerEpoch = max(1, iterationsPerEpoch)
        self.totalIterations = totalIterations
        self.pruningRate = pruningRate
    }

    /// Whole epochs of the training (at least 1).
    public var totalEpochs: Int { max(1, totalIterations / iterationsPerEpoch) }
}

/// A schedule `ScheduleRegistry` can build by name: one type, one file, one line in `ScheduleRegistry.all`.
public protocol RegisteredSchedule: LRSchedule {
    /// The name users type (`--schedule NAME`).
    static var scheduleName: String { get }
    /// The parameters it reads, with a word each (for help and for refusing unknown keys).
    static var parameterHelp: [(key: String, help: String)] { get }
    /// Builds it; throws `ScheduleError` naming the parameter on a bad value.
    static func make(_ spec: ScheduleSpec, _ context: ScheduleContext) throws -> Self
}

public struct ScheduleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Every schedule, by name. Adding one: a file with a `RegisteredSchedule` type, and its line here.
public enum ScheduleRegistry {
    public static let all: [any RegisteredSchedule.Type] = [
        ConstantLR.self, StepLR.self, MultiStepLR.self, CosineLR.self, OneCycleLR.self,   // plain training
        LinearDecayLR.self, TriangularCyclicLR.self, WarmupLR.self, SCycSchedule.self,    // S-Cyc's Table 1 + Eq. 2
        ConstantAndDropLR.self, CIFARDecayLR.self,                                        // the gRDA paper's
    ]

    public static var names: [String] { all.map { $0.scheduleName } }

    public static func type(named name: String) throws -> any RegisteredSchedule.Type {
        guard let t = all.first(where: { $0.scheduleName == name }) else {
            throw ScheduleError("unknown schedule '\(name)'; expected one of \(names.joined(separator: ", "))")
        }
        return t
    }

    /// The schedule `spec` describes, for `context`. Unknown names and parameters are refused, naming them.
    public static func make(_ spec: ScheduleSpec, _ context: ScheduleContext) throws -> any LRSchedule {
        let t = try type(named: spec.name)
        let known = Set(t.parameterHelp.map(\.key))
        if let bad = spec.parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw ScheduleError("schedule \(spec.name) has no parameter \(ScheduleSpec.label(bad))"
                + (known.isEmpty ? " (it takes none)" : "; it takes \(known.sorted().joined(separator: ", "))"))
        }
        return try t.make(spec, context)
    }

    /// Checks `spec` without a dataset: builds it for a nominal context (1,000 iterations of 100 per epoch).
    public static func validate(_ spec: ScheduleSpec, baseLR: Float, pruningRate: Double? = nil) throws {
        _ = try make(spec, ScheduleContext(baseLR: baseLR, iterationsPerEpoch: 100, totalIterations: 1000, pruningRate: pruningRate))
    }

    /// One line per schedule and its parameters (for `--help`).
    public static var helpText: String {
        all.map { t in
            t.parameterHelp.isEmpty ? t.scheduleName
                : "\(t.scheduleName) (" + t.parameterHelp.map { "\($0.key): \($0.help)" }.joined(separator: "; ") + ")"
        }.joined(separator: ", ")
    }
}

// MARK: the registrations of the schedules defined next to their formulas

func positive(_ spec: ScheduleSpec, _ key: String, _ value: Int) throws -> Int {
    guard value > 0 else { throw ScheduleError("\(spec.name): \(ScheduleSpec.label(key)) must be positive, got \(value)") }
    return value
}

extension ConstantLR: RegisteredSchedule {
    public static let scheduleName = "constant"
    public static let parameterHelp: [(key: String, help: String)] = []
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> ConstantLR { ConstantLR(c.baseLR) }
}

extension StepLR: RegisteredSchedule {
    public static let scheduleName = "step"
    public static let parameterHelp: [(key: String, help: String)] = [("step_size", "period, e.g. 30ep"), ("gamma", "factor, default 0.1")]
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> StepLR {
        guard let s = try spec.iteration("step_size", perEpoch: c.iterationsPerEpoch) else {
            throw ScheduleError("step needs step_size (--step-size, e.g. 30ep)")
        }
        return StepLR(base: c.baseLR, stepSize: try positive(spec, "step_size", s), gamma: Float(try spec.number("gamma", default: 0.1)))
    }
}

extension MultiStepLR: RegisteredSchedule {
    public static let scheduleName = "multistep"
    public static let parameterHelp: [(key: String, help: String)] = [("milestones", "e.g. 80ep;120ep"), ("gamma", "factor, default 0.1")]
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> MultiStepLR {
        let m = try spec.iterations("milestones", perEpoch: c.iterationsPerEpoch)
        guard !m.isEmpty else { throw ScheduleError("multistep needs milestones (--milestones, e.g. 80ep,120ep)") }
        return MultiStepLR(base: c.baseLR, milestones: m, gamma: Float(try spec.number("gamma", default: 0.1)))
    }
}

extension CosineLR: RegisteredSchedule {
    public static let scheduleName = "cosine"
    public static let parameterHelp: [(key: String, help: String)] = []
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> CosineLR {
        CosineLR(base: c.baseLR, totalIterations: max(1, c.totalIterations))
    }
}

extension OneCycleLR: RegisteredSchedule {
    public static let scheduleName = "onecycle"
    public static let parameterHelp: [(key: String, help: String)] = []
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> OneCycleLR {
        OneCycleLR(maxLR: Double(c.baseLR), totalIterations: max(c.totalIterations, 2))
    }
}

extension LinearDecayLR: RegisteredSchedule {
    public static let scheduleName = "linear-decay"
    public static let parameterHelp: [(key: String, help: String)] = []
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> LinearDecayLR {
        LinearDecayLR(start: Double(c.baseLR), length: max(1, c.totalIterations))
    }
}

extension TriangularCyclicLR: RegisteredSchedule {
    public static let scheduleName = "cyclical"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("lower", "a, default 0.001"), ("upper", "b, default 0.1"), ("step_size", "half period c, default 1000it"),
    ]
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> TriangularCyclicLR {
        let step = try spec.iteration("step_size", perEpoch: c.iterationsPerEpoch) ?? 1000
        return TriangularCyclicLR(lower: try spec.number("lower", default: 0.001), upper: try spec.number("upper", default: 0.1),
                                  stepSize: try positive(spec, "step_size", step))
    }
}

/// The warmup shape's ramp and drops, shared by `WarmupLR` and `SCycSchedule`.
func warmupShape(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> (warmup: Int, drops: [Int]) {
    let w = try spec.iteration("warmup", perEpoch: c.iterationsPerEpoch) ?? 0
    let d = try spec.iterations("drops", perEpoch: c.iterationsPerEpoch)
    guard w >= 0, d.allSatisfy({ $0 >= 0 }) else { throw ScheduleError("\(spec.name): warmup (--warmup) and drops (--drops) must be ≥ 0") }
    return (w, d)
}

extension WarmupLR: RegisteredSchedule {
    public static let scheduleName = "warmup"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("peak", "default --lr"), ("warmup", "ramp length b"), ("drops", "the 10× drops c;d;e"),
    ]
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> WarmupLR {
        let (w, d) = try warmupShape(spec, c)
        let peak = try spec.optionalNumber("peak") ?? Double(c.baseLR)
        guard peak > 0 else { throw ScheduleError("warmup: peak (--peak) must be positive, got \(peak)") }
        return WarmupLR(peak: peak, warmup: w, drops: d)
    }
}

extension SCycSchedule: RegisteredSchedule {
    public static let scheduleName = "scyc"
    public static let parameterHelp: [(key: String, help: String)] = [
        ("l_min", "default 0.03"), ("l_amp", "default 0.04"), ("q", "No-Growth cycles, default 1"), ("beta", "default 5"),
        ("warmup", "ramp length b"), ("drops", "the 10× drops c;d;e"),
    ]
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> SCycSchedule {
        let (w, d) = try warmupShape(spec, c)
        let q = try spec.integer("q", default: 1), beta = try spec.number("beta", default: 5)
        guard q >= 0 else { throw ScheduleError("scyc: q (--q) must be ≥ 0, got \(q)") }
        guard beta > 0 else { throw ScheduleError("scyc: beta (--beta) must be > 0, got \(beta)") }
        let rate = c.pruningRate ?? 0.2
        guard rate >= 0 && rate < 1 else { throw ScheduleError("scyc: the pruning rate must be in [0, 1), got \(rate)") }
        return SCycSchedule(lMin: try spec.number("l_min", default: 3e-2), lAmp: try spec.number("l_amp", default: 4e-2),
                            q: q, beta: beta, rate: rate, warmupIterations: w, drops: d)
    }
}

extension ConstantAndDropLR: RegisteredSchedule {
    public static let scheduleName = "drop"
    public static let parameterHelp: [(key: String, help: String)] = [("drop_at", "e.g. 8ep"), ("drop_factor", "default 0.1")]
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> ConstantAndDropLR {
        guard let at = try spec.iteration("drop_at", perEpoch: c.iterationsPerEpoch) else {
            throw ScheduleError("drop needs drop_at (--drop-at, e.g. 8ep or 4000it)")
        }
        let f = try spec.number("drop_factor", default: 0.1)
        guard at > 0 else { throw ScheduleError("drop: drop_at (--drop-at) must be positive, got \(at)") }
        guard f > 0 else { throw ScheduleError("drop: drop_factor (--drop-factor) must be positive, got \(f)") }
        return ConstantAndDropLR(base: Double(c.baseLR), dropAt: at, factor: f)
    }
}

extension CIFARDecayLR: RegisteredSchedule {
    public static let scheduleName = "cifar"
    public static let parameterHelp: [(key: String, help: String)] = []
    public static func make(_ spec: ScheduleSpec, _ c: ScheduleContext) throws -> CIFARDecayLR {
        CIFARDecayLR(base: Double(c.baseLR), totalEpochs: c.totalEpochs, iterationsPerEpoch: c.iterationsPerEpoch)
    }
}
