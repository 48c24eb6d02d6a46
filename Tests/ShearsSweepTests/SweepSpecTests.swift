import XCTest
@testable import ShearsSweep

final class SweepSpecTests: XCTestCase {
    private func parse(_ yaml: String) throws -> SweepSpec {
        try SweepSpec.parse(yaml, file: "spec.yaml", defaultName: "spec")
    }

    private func assertRefused(_ yaml: String, _ fragments: [String], line: UInt = #line) {
        XCTAssertThrowsError(try parse(yaml), line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("spec.yaml: "), text, line: line)
            for f in fragments { XCTAssertTrue(text.contains(f), "\(text) lacks \(f)", line: line) }
        }
    }

    func testIssueExampleParsesInOrder() throws {
        let spec = try parse("""
        command: shears train --model lenet300-100 --epochs 1 --train-subset 2000
        axes:
          seed: [0, 1]
          lr: [0.05, 0.1]
        """)
        XCTAssertEqual(spec.name, "spec")
        XCTAssertEqual(spec.command, ["train", "--model", "lenet300-100", "--epochs", "1", "--train-subset", "2000"])
        XCTAssertEqual(spec.axes.map(\.name), ["seed", "lr"])
        XCTAssertEqual(spec.axes[1].values.map(\.label), ["0.05", "0.1"])  // as written, not re-printed floats
        XCTAssertEqual(spec.axes[1].values.map(\.arguments), [["--lr", "0.05"], ["--lr", "0.1"]])
    }

    func testValuesSettingSeveralFlagsSwitchesAndDefaults() throws {
        let spec = try parse("""
        name: sched
        command: [prune, iterative, --epochs, "1"]
        axes:
          schedule:
            - {lr-schedule: scyc, l-min: 0.03}
            - {lr-schedule: cosine}
          augment: [null, ""]
          --rate: [0.2]
        """)
        XCTAssertEqual(spec.name, "sched")
        XCTAssertEqual(spec.command, ["prune", "iterative", "--epochs", "1"])
        XCTAssertEqual(spec.axes[0].values.map(\.label), ["lr-schedule=scyc,l-min=0.03", "lr-schedule=cosine"])
        XCTAssertEqual(spec.axes[0].values[0].arguments, ["--lr-schedule", "scyc", "--l-min", "0.03"])
        XCTAssertEqual(spec.axes[1].values.map(\.arguments), [[], ["--augment"]])
        XCTAssertEqual(spec.axes[1].values.map(\.label), ["default", "on"])
        XCTAssertEqual(spec.axes[2].values[0].arguments, ["--rate", "0.2"])
    }

    func testBadSpecsAreRefusedWithTheirReason() {
        assertRefused("axes:\n  seed: [0]\n", ["missing key 'command'"])
        assertRefused("command: train\n", ["missing key 'axes'"])
        assertRefused("command: train\naxes: {}\n", ["'axes' (line 2) is empty"])
        assertRefused("command: train\naxes:\n  seed: []\n", ["axis 'seed' (line 3) is empty"])
        assertRefused("command: train\naxes:\n  seed: 3\n", ["axis 'seed'", "must be a list"])
        assertRefused("command: train\naxes:\n  seed: [0, 0]\n", ["lists the value '0' twice"])
        assertRefused("command: train\naxes:\n  seed: [[0]]\n", ["a value must be a scalar or a mapping"])
        assertRefused("command: train\naxis:\n  seed: [0]\n", ["unknown key 'axis' (line 2)", "name, command, axes"])
        assertRefused("command: --epochs 1\naxes:\n  seed: [0]\n", ["must start with a subcommand"])
        assertRefused("command: train 'x\naxes:\n  seed: [0]\n", ["unterminated quote"])
        assertRefused("- a\n- b\n", ["expected a mapping"])
        assertRefused("command: [train\n", ["is not valid YAML"])
        assertRefused("name: a/b\ncommand: train\naxes:\n  seed: [0]\n", ["'name'", "without '/'"])
    }

    func testCommandLineSplitting() throws {
        XCTAssertEqual(try splitCommandLine("train  --title 'a b' --x \"c \\\"d\\\"\" e\\ f"),
                       ["train", "--title", "a b", "--x", "c \"d\"", "e f"])
        XCTAssertEqual(try splitCommandLine(""), [])
        XCTAssertEqual(try splitCommandLine("a ''"), ["a", ""])
    }

    func testShellQuoting() {
        XCTAssertEqual(shellQuoted("--lr"), "--lr")
        XCTAssertEqual(shellQuoted("a b"), "'a b'")
        XCTAssertEqual(shellQuoted("it's"), "'it'\\''s'")
        XCTAssertEqual(shellQuoted(""), "''")
    }
}
