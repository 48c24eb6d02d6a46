import ArgumentParser
import Foundation
import ShearsIO
import ShearsOptim

/// `shears schedule`: inspect learning-rate schedules without training.
struct Schedule: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print or draw learning-rate schedules.",
        subcommands: [ScheduleSCyc.self])
}

/// `shears schedule scyc`: S-Cyc's max_lr per pruning cycle (Eq. 2), and optionally the whole schedule as an SVG chart.
struct ScheduleSCyc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scyc",
        abstract: "Print S-Cyc's max_lr per pruning cycle (Eq. 2); optionally draw the learning rate over all cycles.",
        discussion: """
        Prints one line per pruning cycle m = 0 … cycles−1: cycle<TAB>percent_remaining<TAB>max_lr, where m is the \
        number of completed pruning cycles (m = 0 is the dense network's first training), percent_remaining = \
        100·(1−rate)^m and max_lr = l_min + l_amp·S_β(x), x = 1 − (1−rate)^(m−q) for m > q, max_lr = l_min for \
        m ≤ q. Note that l_amp (the paper's l_max) is added to l_min: max_lr grows towards l_min + l_amp. \
        The defaults are the paper's ResNet-20 / CIFAR-10 setting, S-Cyc (3e-2, 4e-2, 1, 5, 20K, 20K, 25K, Nil) \
        with rate 0.2, 25 cycles of 63K iterations. With --svg, each cycle follows the LR warmup: a linear ramp from \
        0 to that cycle's max_lr over --warmup iterations, divided by 10 at each iteration in --drops. Iteration \
        counts accept a K suffix (20K = 20000).
        """)

    @Option(help: "l_min: max_lr of the dense network and of the No-Growth cycles m ≤ q.") var lMin: Double = 3e-2
    @Option(help: "l_amp (the paper's l_max): the amplitude added to l_min; max_lr approaches l_min + l_amp.") var lAmp: Double = 4e-2
    @Option(help: "q: No-Growth length; max_lr stays at l_min for every cycle m ≤ q.") var q: Int = 1
    @Option(help: "β: shape (steepness) of the S-curve, > 0.") var beta: Double = 5
    @Option(help: "Pruning rate p: the fraction of the remaining weights removed per cycle, in [0, 1).") var rate: Double = 0.2
    @Option(help: "Number of pruning cycles to list (m = 0 … cycles−1).") var cycles: Int = 25
    @Flag(help: "Print a header line naming the columns first.") var header = false
    @Option(help: "Also draw the learning rate over all cycles into this SVG file.") var svg: String?
    @Option(help: "With --svg: iterations per pruning cycle (T).") var iterationsPerCycle: String = "63K"
    @Option(help: "With --svg: warmup length b in iterations (linear ramp from 0 to max_lr; 0 = no ramp).") var warmup: String = "20K"
    @Option(help: "With --svg: iterations of the 10× drops (c,d,e), comma-separated; 'none' for no drops.") var drops: String = "20K,25K"

    /// "20000", "20K" or "20k" → 20000.
    static func iterations(_ text: String, flag: String) throws -> Int {
        let t = text.trimmingCharacters(in: .whitespaces)
        let (digits, scale) = t.hasSuffix("K") || t.hasSuffix("k") ? (String(t.dropLast()), 1000) : (t, 1)
        guard let v = Int(digits), v >= 0, v <= Int.max / scale else {
            throw ValidationError("\(flag) must be a non-negative whole number of iterations (e.g. 20000 or 20K), got '\(text)'")
        }
        return v * scale
    }

    func parsedDrops() throws -> [Int] {
        let t = drops.trimmingCharacters(in: .whitespaces).lowercased()
        if t.isEmpty || t == "none" || t == "nil" { return [] }
        return try drops.split(separator: ",").map { try Self.iterations(String($0), flag: "--drops") }
    }

    func validate() throws {
        guard lMin.isFinite, lMin > 0 else { throw ValidationError("--l-min must be a positive learning rate, got \(lMin)") }
        guard lAmp.isFinite, lAmp >= 0 else { throw ValidationError("--l-amp must be ≥ 0 (it is added to --l-min), got \(lAmp)") }
        guard q >= 0 else { throw ValidationError("--q must be ≥ 0 (cycles without growth), got \(q)") }
        guard beta.isFinite, beta > 0 else { throw ValidationError("--beta must be > 0, got \(beta)") }
        guard rate.isFinite, rate >= 0, rate < 1 else {
            throw ValidationError("--rate must be in [0, 1) (the fraction of the remaining weights pruned per cycle), got \(rate)")
        }
        guard cycles >= 1 else { throw ValidationError("--cycles must be at least 1, got \(cycles)") }
        guard cycles <= 10_000 else { throw ValidationError("--cycles must be at most 10000, got \(cycles)") }
        let t = try Self.iterations(iterationsPerCycle, flag: "--iterations-per-cycle")
        guard t >= 1 else { throw ValidationError("--iterations-per-cycle must be at least 1, got \(iterationsPerCycle)") }
        _ = try Self.iterations(warmup, flag: "--warmup")
        _ = try parsedDrops()
    }

    func makeSchedule() throws -> SCycSchedule {
        SCycSchedule(lMin: lMin, lAmp: lAmp, q: q, beta: beta, rate: rate,
                     warmupIterations: try Self.iterations(warmup, flag: "--warmup"), drops: try parsedDrops())
    }

    /// The printed table: one `cycle<TAB>percent_remaining<TAB>max_lr` line per cycle.
    static func table(_ s: SCycSchedule, cycles: Int, header: Bool) -> String {
        var lines = header ? ["cycle\tpercent_remaining\tmax_lr"] : []
        for row in s.table(cycles: cycles) {
            lines.append("\(row.cycle)\t\(String(format: "%.6g", row.percentRemaining))\t\(String(format: "%.6g", row.maxLR))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The chart: x in pruning cycles (cycle m spans [m, m+1)), the per-iteration rate and the per-cycle max_lr.
    static func chart(_ s: SCycSchedule, cycles: Int, iterationsPerCycle T: Int) -> SVGLineChart {
        let lr = s.curve(cycles: cycles, iterationsPerCycle: T).map { (Double($0.iteration) / Double(T), $0.lr) }
        var peaks: [(Double, Double)] = []
        for m in 0..<cycles {
            let v = s.maxLR(cycle: m)
            peaks.append((Double(m), v)); peaks.append((Double(m + 1), v))
        }
        func g(_ v: Double) -> String { String(format: "%g", v) }
        let drops = s.warmup.drops.isEmpty ? "none" : s.warmup.drops.map { "\($0)" }.joined(separator: ", ")
        return SVGLineChart(
            title: "S-Cyc: l_min \(g(s.lMin)), l_amp \(g(s.lAmp)), q \(s.q), β \(g(s.beta)), rate \(g(s.pruningRate))",
            xLabel: "pruning cycle m (1 cycle = \(T) iterations; warmup \(s.warmup.warmup), drops at \(drops))",
            yLabel: "learning rate (per SGD step)",
            series: [(name: "lr(t): warmup to max_lr(m)", points: lr), (name: "max_lr(m), Eq. 2", points: peaks)],
            width: 900, height: 500)
    }

    func run() throws {
        let s = try makeSchedule()
        print(Self.table(s, cycles: cycles, header: header), terminator: "")
        if let svg {
            let T = try Self.iterations(iterationsPerCycle, flag: "--iterations-per-cycle")
            try Self.chart(s, cycles: cycles, iterationsPerCycle: T).write(to: svg)
        }
    }
}
