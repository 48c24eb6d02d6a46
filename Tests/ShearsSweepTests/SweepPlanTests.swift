import XCTest
import ShearsIO
@testable import ShearsSweep

final class SweepPlanTests: XCTestCase {
    private let spec = SweepSpec(name: "s", command: ["train", "--epochs", "1"], axes: [
        .init(name: "seed", values: [("0", ["--seed", "0"]), ("1", ["--seed", "1"])]),
        .init(name: "lr", values: [("0.05", ["--lr", "0.05"]), ("0.1", ["--lr", "0.1"]), ("0.2", ["--lr", "0.2"])]),
    ])

    /// A stand-in for the CLI's parser: the directory is named by the arguments after the subcommand.
    private func resolve(_ args: [String]) throws -> PointTarget {
        if let i = args.firstIndex(of: "--lr"), Double(args[i + 1]) == nil { throw SweepError("shears train", "bad --lr \(args[i + 1])") }
        let named = args.dropFirst().filter { !$0.hasPrefix("--threads") && $0 != "2" }.joined(separator: "_")
        return PointTarget(directory: "/runs/" + named)
    }

    func testEveryCombinationFirstAxisSlowest() throws {
        let plan = try SweepPlan.expand(spec, file: "s.yaml", threads: 2, resolve: resolve)
        XCTAssertEqual(plan.points.map(\.label), ["seed=0 lr=0.05", "seed=0 lr=0.1", "seed=0 lr=0.2",
                                                  "seed=1 lr=0.05", "seed=1 lr=0.1", "seed=1 lr=0.2"])
        XCTAssertEqual(plan.points.map(\.index), Array(0..<6))
        XCTAssertEqual(plan.points[4].arguments, ["train", "--epochs", "1", "--seed", "1", "--lr", "0.1", "--threads", "2"])
        XCTAssertEqual(plan.points[4].directory, "/runs/--epochs_1_--seed_1_--lr_0.1")
        XCTAssertEqual(plan.points[4].doneFile, "summary.json")
        XCTAssertEqual(SweepPlan.combinations([2, 1, 3]).count, 6)
        XCTAssertEqual(SweepPlan.combinations([2, 2]), [[0, 0], [0, 1], [1, 0], [1, 1]])
    }

    func testThreadsAreLeftAloneWhenTheSpecSetsThem() throws {
        var s = spec
        s.command += ["--threads=4"]
        let plan = try SweepPlan.expand(s, file: "s.yaml", threads: 2, resolve: resolve)
        XCTAssertEqual(plan.points[0].arguments.filter { $0.hasPrefix("--threads") }, ["--threads=4"])
        let none = try SweepPlan.expand(spec, file: "s.yaml", threads: nil, resolve: resolve)
        XCTAssertFalse(none.points[0].arguments.contains("--threads"))
    }

    func testEveryPointsParserMessageAndDuplicatesAreReportedTogether() {
        var s = spec
        s.axes[1].values.append(("abc", ["--lr", "abc"]))
        s.axes.append(.init(name: "out", values: [("x", ["--out", "x"])]))
        let sameDir: ([String]) throws -> PointTarget = { args in
            if args.contains("abc") { throw SweepError("shears train", "The value 'abc' is invalid for '--lr <lr>'") }
            return PointTarget(directory: "/runs/x")
        }
        XCTAssertThrowsError(try SweepPlan.expand(s, file: "s.yaml", threads: nil, resolve: sameDir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("s.yaml: 3 problem(s)"), text)
            XCTAssertTrue(text.contains("point 3 (seed=0 lr=abc out=x): shears train: The value 'abc' is invalid"), text)
            XCTAssertTrue(text.contains("point 7 (seed=1 lr=abc out=x)"), text)
            XCTAssertTrue(text.contains("points 0 (seed=0 lr=0.05 out=x), 1 (seed=0 lr=0.1 out=x), 2 (seed=0 lr=0.2 out=x), 4"), text)
            XCTAssertTrue(text.contains("name the same run directory /runs/x"), text)
        }
    }
}

/// The local pool's progress counter: points ended of all, and the rest's ETA at the pool's rate so far.
final class LocalPoolProgressTests: XCTestCase {
    func testCounterSaysDoneOfTotalAndTheETA() {
        // 3 of 12 ended in 90 s: 30 s a point at the pool's rate, 9 left → 270 s.
        XCTAssertEqual(LocalPool.counter(done: 3, of: 12, elapsed: 90), "[3/12 · ETA 04:30]")
        XCTAssertEqual(LocalPool.counter(done: 1, of: 200, elapsed: 60), "[1/200 · ETA 3:19:00]")
        XCTAssertEqual(LocalPool.counter(done: 12, of: 12, elapsed: 500), "[12/12]")
    }
}
