import ArgumentParser
import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
import ShearsOptim
@testable import shears

/// The flag groups every training command shares: one declaration, each command's own defaults; the run-directory
/// launch (thread count, stale directories).
final class TrainingFlagsTests: CommandTestCase {
    func testEachCommandKeepsItsOwnDefaults() throws {
        let train = try XCTUnwrap(try Shears.parseAsRoot(["train"]) as? Train).makeConfig()
        XCTAssertEqual(train, TrainingConfig())
        let prune = try XCTUnwrap(try Shears.parseAsRoot(["prune", "iterative"]) as? PruneIterative).makeConfig()
        XCTAssertEqual(prune, IterativePruningConfig())
        XCTAssertEqual(prune.training.split, .official, "the official split by default, as every command")
        let anytime = try XCTUnwrap(try Shears.parseAsRoot(["anytime"]) as? AnytimeRun).makeConfig()
        XCTAssertEqual(anytime, AnytimeConfig())
        let grda = try XCTUnwrap(try Shears.parseAsRoot(["prune", "grda"]) as? PruneGRDA).makeConfig()
        XCTAssertEqual(grda, DirectionalPruningConfig())
    }

    func testScheduleFlagsBuildOneSpecAndForeignFlagsAreRefused() throws {
        let c = try XCTUnwrap(try Shears.parseAsRoot(["train", "--schedule", "multistep", "--milestones", "80ep,120ep", "--gamma", "0.2"]) as? Train).makeConfig()
        XCTAssertEqual(c.schedule, ScheduleSpec("multistep", ["milestones": .steps([StepSpec(80, .epochs), StepSpec(120, .epochs)]), "gamma": .number(0.2)]))
        let same = try XCTUnwrap(try Shears.parseAsRoot(["train", "--schedule", "multistep:milestones=80ep;120ep,gamma=0.2"]) as? Train).makeConfig()
        XCTAssertEqual(same.schedule, c.schedule, "the text form and the flags say the same")
        let s = try XCTUnwrap(try Shears.parseAsRoot(["prune", "iterative", "--lr-schedule", "scyc", "--warmup", "20K", "--drops", "20K,25K"])
            as? PruneIterative).makeConfig()
        XCTAssertEqual(s.training.schedule.parameters["warmup"], .steps([StepSpec(20_000, .iterations)]), "K suffix everywhere")
        XCTAssertTrue(refusal(["train", "--milestones", "80ep"])?.contains("--schedule constant takes no --milestones") ?? false)
        XCTAssertTrue(refusal(["train", "--schedule", "cosine", "--beta", "2"])?.contains("--beta") ?? false)
        let constant = try XCTUnwrap(try Shears.parseAsRoot(["anytime", "--milestones", "none"]) as? AnytimeRun).makeConfig()
        XCTAssertEqual(constant.training.schedule, ScheduleSpec.constant)
    }

    func testEveryCriterionIsSelectableWherePruningHappens() throws {
        for name in ["magnitude", "gradient", "snip", "random", "l1-filter", "synflow"] {
            XCTAssertNil(refusal(["prune", "iterative", "--criterion", name]), name)
            XCTAssertNil(refusal(["anytime", "--pruner", name]), name)
        }
        XCTAssertTrue(refusal(["anytime", "--pruner", "vibes"])?.contains("synflow") ?? false)
        // SynFlow end to end, data-free, through the registry alone.
        let out = scratch.appendingPathComponent("synflow").path
        try run(["prune", "iterative", "--dataset", "synthetic", "--split", "pooled", "--iterations", "4", "--eval-every", "4it", "--cycles", "1",
                 "--criterion", "synflow", "--threads", "1", "--prefetch", "0", "--out", out])
        let summary = try XCTUnwrap(try RunDirectory(path: out).readJSON(IterativePruningSummary.self, from: "summary.json"))
        XCTAssertEqual(summary.cycles.last!.percentRemaining.mean, 80, accuracy: 0.01)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/run_0/cycle_1/model.safetensors"), "every level is kept")
    }

    func testAFailedLaunchLeavesNoDirectoryAndThreadsAreTheRunsOwn() throws {
        let bad = scratch.appendingPathComponent("bad").path
        XCTAssertThrowsError(try run(["train", "--dataset", "cifar10", "--data-dir", scratch.appendingPathComponent("nowhere").path,
                                      "--out", bad, "--threads", "1"]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: bad), "no stale run directory")
        let good = scratch.appendingPathComponent("good").path
        let args = ["train", "--dataset", "synthetic", "--validation", "200", "--iterations", "4", "--eval-every", "2it", "--prefetch", "0", "--out", good]
        try run(args + ["--threads", "1"])
        try run(args + ["--threads", "2"])   // a finished run is reported whatever the thread count
        // An unfinished one (no summary yet, as after a kill) continues only with its own thread count.
        try FileManager.default.removeItem(atPath: good + "/summary.json")
        XCTAssertThrowsError(try run(args + ["--threads", "2"])) { e in
            XCTAssertTrue("\(e)".contains("--threads 1"), "\(e)")
        }
        try run(args + ["--threads", "1"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: good + "/summary.json"))
        let log = try String(contentsOfFile: good + "/log.txt", encoding: .utf8)
        XCTAssertTrue(log.contains("error:") && log.contains("--threads 1"), "the refusal is in the log too")
    }

    func testNonFiniteAndHugeValuesAreRefusedBeforeAnyWork() {
        let cases: [([String], String)] = [
            (["train", "--momentum", "nan"], "--momentum"),
            (["train", "--lr", "inf"], "--lr"),
            (["train", "--weight-decay", "nan"], "--weight-decay"),
            (["prune", "iterative", "--momentum", "nan"], "--momentum"),
            (["anytime", "--momentum", "nan"], "--momentum"),
            (["prune", "iterative", "--rate", "nan"], "--rate"),
            (["train", "--batch-size", "9223372036854775807"], "--batch-size"),
            (["train", "--epochs", "9223372036854775807"], "--epochs"),
            (["train", "--eval-every", "9223372036854775807"], "--eval-every"),
            (["train", "--schedule", "step", "--step-size", "0"], "step_size"),
            (["train", "--schedule", "multistep", "--milestones", "99999999999999ep"], "--milestones"),
            (["train", "--out", ""], "--out"),
            (["train", "--optimizer", "adam", "--momentum", "0.9"], "--momentum"),
        ]
        for (args, expected) in cases {
            let message = refusal(args)
            XCTAssertTrue(message?.contains(expected) ?? false, "\(args): \(message ?? "accepted")")
        }
    }
}

final class ArgumentNormalisationTests: CommandTestCase {
    func testANegativeNumberAfterAnOptionIsItsValue() {
        XCTAssertEqual(Shears.normalizedArguments(["train", "--epochs", "-1", "--lr", "-0.5", "--augment"]),
                       ["train", "--epochs=-1", "--lr=-0.5", "--augment"])
        XCTAssertEqual(Shears.normalizedArguments(["train", "--epochs", "-h"]), ["train", "--epochs", "-h"])
        let message = refusal(Shears.normalizedArguments(["train", "--epochs", "-1"]))
        XCTAssertTrue(message?.contains("--epochs must be between 1 and 1000000, got -1") ?? false, message ?? "accepted")
        XCTAssertEqual(refusal(Shears.normalizedArguments(["train", "--epochs", "-1"])), refusal(["train", "--epochs=-1"]))
    }
}

/// Every command's `--help`: each flag's values listed once, no runs of spaces inside the prose.
final class HelpTextTests: XCTestCase {
    /// Every command, subcommands included.
    private func commands(_ root: ParsableCommand.Type = Shears.self) -> [ParsableCommand.Type] {
        [root] + root.configuration.subcommands.flatMap { commands($0) }
    }

    /// The help's flag entries, each with its wrapped lines joined by single spaces.
    private func flagEntries(_ help: String) -> [String] {
        var entries: [String] = []
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  -") { entries.append(String(line.drop { $0 == " " })) }
            else if line.hasPrefix("   "), !entries.isEmpty { entries[entries.count - 1] += " " + line.drop { $0 == " " } }
            else if !line.hasPrefix("   ") { entries.append("") }
        }
        return entries.filter { !$0.isEmpty }
    }

    func testEveryFlagListsItsValuesOnce() throws {
        let all = commands()
        XCTAssertGreaterThan(all.count, 25)
        for command in all {
            let help = Shears.helpMessage(for: command, columns: 120)
            let name = command._commandName
            // A value name spelled as the value list (`<a|b|c>`) next to ArgumentParser's own "(values: a, b, c)" says it
            // twice; value names are words.
            XCTAssertNil(help.range(of: #"<[a-z0-9-]+\|[a-z0-9|-]+>"#, options: .regularExpression), "\(name): \(help)")
            // A flag whose help spells out its values next to ArgumentParser's "(values: a, b, …)" says them twice.
            for entry in flagEntries(help) {
                guard let open = entry.range(of: "(values: ") else { continue }
                let list = entry[open.upperBound...].prefix { $0 != ")" && $0 != ";" }
                let values = list.components(separatedBy: ", ")
                guard values.count >= 2 else { continue }
                XCTAssertFalse(entry[..<open.lowerBound].contains(values[0] + ", " + values[1]), "\(name): values listed twice in \(entry)")
            }
            // The criterion's names appear once per line that mentions them (its help lists each with its formula).
            for line in help.split(separator: "\n") where line.contains("--criterion") || line.contains("--pruner") {
                XCTAssertLessThanOrEqual(line.components(separatedBy: "synflow").count - 1, 1, "\(name): \(line)")
            }
            // Prose has no runs of spaces: the layout's own padding is the indentation and the one gap between a flag or
            // subcommand and its description.
            for line in help.split(separator: "\n") {
                var text = Substring(line.drop { $0 == " " })
                if line.hasPrefix("  ") && !line.hasPrefix("   "), let gap = text.range(of: "  ") {
                    text = text[gap.upperBound...].drop { $0 == " " }
                }
                XCTAssertFalse(text.contains("  "), "\(name): '\(line)'")
            }
        }
    }
}

final class PadFlagTests: CommandTestCase {
    /// `--pad` makes small images 32×32 (MNIST with 2; the synthetic 8×8 set here with 12), so VGG (five pools) trains
    /// on them; without it the model refuses the size, naming it.
    func testPadLetsVGGTrainOnSmallImages() throws {
        let base = ["train", "--model", "vgg11", "--dataset", "synthetic", "--train-subset", "8", "--validation", "10",
                    "--batch-size", "4", "--iterations", "1", "--eval-every", "1it", "--threads", "1", "--prefetch", "0"]
        XCTAssertThrowsError(try run(base + ["--out", scratch.appendingPathComponent("a").path])) {
            XCTAssertTrue("\($0)".contains("8×8"), "\($0)")
        }
        let out = scratch.appendingPathComponent("b").path
        try run(base + ["--pad", "12", "--out", out])
        let config = try JSONDecoder().decode(TrainingConfig.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/config.json")))
        XCTAssertEqual(config.pad, 12)
        XCTAssertTrue(refusal(base + ["--pad", "-1", "--out", scratch.appendingPathComponent("c").path])?.contains("--pad") ?? false)
    }
}
