import ArgumentParser
import ShearsTensor

@main
struct Shears: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shears",
        abstract: "Neural-network pruning in Swift: train, prune (gRDA, S-Cyc, APP) and measure sparse networks.",
        version: shearsVersion,
        subcommands: [Train.self, Eval.self, Prune.self, Anytime.self, Analyze.self, Schedule.self, ReportCommand.self, Export.self, Bench.self, Sweep.self])

    static func main() {
        BLASKernels.reexecIfFallback()   // before any work: OpenBLAS' kernels are chosen when it loads
        main(normalizedArguments(Array(CommandLine.arguments.dropFirst())))
    }

    /// `--epochs -1` reads as `--epochs=-1`: a negative number after an option is its value, so that the user gets
    /// the option's own message ("--epochs must be …") instead of "missing value".
    static func normalizedArguments(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--"), !a.contains("="), i + 1 < args.count, isNegativeNumber(args[i + 1]) {
                out.append("\(a)=\(args[i + 1])"); i += 2; continue
            }
            out.append(a); i += 1
        }
        return out
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        guard s.hasPrefix("-"), s.count > 1 else { return false }
        let rest = s.dropFirst()
        return Double(rest) != nil || ["inf", "nan", "infinity"].contains(rest.lowercased())
    }
}

/// `shears --version`.
let shearsVersion = "0.5.0 (one training loop)"

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (results belong in BENCHMARKS.md, with the command that produced them).",
        subcommands: [BenchTrain.self, BenchInfer.self, BenchData.self, BenchStructured.self])
}
