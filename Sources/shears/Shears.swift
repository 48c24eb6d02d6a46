import ArgumentParser

@main
struct Shears: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shears",
        abstract: "Neural-network pruning in Swift: train, prune (gRDA, S-Cyc, APP) and measure sparse networks.",
        subcommands: [Train.self, Prune.self, Anytime.self, Analyze.self, Schedule.self, ReportCommand.self, Export.self, Bench.self])
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (results belong in BENCHMARKS.md, with the command that produced them).",
        subcommands: [BenchTrain.self, BenchInfer.self, BenchStructured.self])
}
