import Foundation
import XCTest
import ShearsIO

private struct Config: Codable, Equatable {
    var learningRate: Double
    var epochs: Int
    var model: String
    var tags: [String]
    var best: Double?
}

final class RunDirectoryTests: XCTestCase {
    func testInitCreatesNestedDirectoriesAndRejectsFiles() throws {
        let base = try makeTempDir(self)
        let run = try RunDirectory(path: base + "/runs/a/b")
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: base + "/runs/a/b", isDirectory: &isDir) && isDir.boolValue)
        XCTAssertEqual(run.url.path, base + "/runs/a/b")
        XCTAssertEqual(run.checkpointPath, base + "/runs/a/b/checkpoint.safetensors")
        _ = try RunDirectory(path: base + "/runs/a/b")   // opening it again is fine
        try Data().write(to: URL(fileURLWithPath: base + "/plain"))
        assertIOError(base + "/plain", ["not a directory"]) { _ = try RunDirectory(path: base + "/plain") }
    }

    func testJSONRoundTripIsPrettySortedAndAtomic() throws {
        let run = try RunDirectory(path: try makeTempDir(self))
        XCTAssertNil(try run.readJSON(Config.self, from: "config.json"))
        XCTAssertFalse(run.fileExists("config.json"))
        let c = Config(learningRate: 0.1, epochs: 160, model: "resnet20", tags: ["a/b", "ü"], best: .nan)
        try run.writeJSON(c, to: "config.json")
        XCTAssertTrue(run.fileExists("config.json"))
        XCTAssertFalse(run.fileExists("config.json.tmp"))
        let text = try String(contentsOfFile: run.url.appendingPathComponent("config.json").path, encoding: .utf8)
        XCTAssertEqual(text, """
        {
          "best" : "NaN",
          "epochs" : 160,
          "learningRate" : 0.1,
          "model" : "resnet20",
          "tags" : [
            "a/b",
            "ü"
          ]
        }

        """)
        let back = try XCTUnwrap(try run.readJSON(Config.self, from: "config.json"))
        XCTAssertEqual(back.epochs, 160)
        XCTAssertEqual(back.tags, c.tags)
        XCTAssertTrue(back.best!.isNaN)

        // Overwrite, in a subdirectory too.
        let d = Config(learningRate: 0.05, epochs: 1, model: "mlp", tags: [], best: 0.98)
        try run.writeJSON(d, to: "config.json")
        XCTAssertEqual(try run.readJSON(Config.self, from: "config.json"), d)
        try run.writeJSON(d, to: "rounds/1/config.json")
        XCTAssertEqual(try run.readJSON(Config.self, from: "rounds/1/config.json"), d)
    }

    func testCorruptJSONIsAnIOErrorNamingTheFile() throws {
        let run = try RunDirectory(path: try makeTempDir(self))
        let p = run.url.appendingPathComponent("config.json").path
        try Data("{\"epochs\": 3,".utf8).write(to: URL(fileURLWithPath: p))
        assertIOError(p, ["not valid JSON for Config"]) { _ = try run.readJSON(Config.self, from: "config.json") }
        try Data(#"{"epochs": 3, "model": "m", "tags": [], "learningRate": "fast"}"#.utf8).write(to: URL(fileURLWithPath: p))
        assertIOError(p, ["learningRate", "Double"]) { _ = try run.readJSON(Config.self, from: "config.json") }
        try Data(#"{"epochs": 3, "tags": [], "learningRate": 1}"#.utf8).write(to: URL(fileURLWithPath: p))
        assertIOError(p, ["missing key \"model\""]) { _ = try run.readJSON(Config.self, from: "config.json") }
    }

    func testMetricsCSVAndJSONLIncludingNewColumnRewrite() throws {
        let dir = try makeTempDir(self)
        let run = try RunDirectory(path: dir)
        try run.appendMetrics(["train_loss": 1.5, "accuracy": 0.25], step: 100, epoch: 0.5)
        try run.appendMetrics(["train_loss": 1.0, "accuracy": 0.5], step: 200, epoch: 1)
        let csvPath = dir + "/metrics.csv", jsonlPath = dir + "/metrics.jsonl"
        XCTAssertEqual(try String(contentsOfFile: csvPath, encoding: .utf8),
                       "step,epoch,accuracy,train_loss\n100,0.5,0.25,1.5\n200,1.0,0.5,1.0\n")

        // A new metric: the CSV is rewritten with the union of columns, earlier rows empty there.
        try run.appendMetrics(["train_loss": 0.5, "accuracy": 0.75, "lr": 0.1], step: 300, epoch: 1.5)
        XCTAssertEqual(try String(contentsOfFile: csvPath, encoding: .utf8),
                       "step,epoch,accuracy,lr,train_loss\n100,0.5,0.25,,1.5\n200,1.0,0.5,,1.0\n300,1.5,0.75,0.1,0.5\n")
        // A row lacking some columns leaves them empty; a new RunDirectory object reads the header back.
        let reopened = try RunDirectory(path: dir)
        try reopened.appendMetrics(["train_loss": .nan], step: 400, epoch: 2)
        try reopened.appendMetrics(["a,b \"odd\" name": 1e-5], step: 500, epoch: 2.5)
        XCTAssertEqual(try String(contentsOfFile: csvPath, encoding: .utf8), """
            step,epoch,"a,b ""odd"" name",accuracy,lr,train_loss
            100,0.5,,0.25,,1.5
            200,1.0,,0.5,,1.0
            300,1.5,,0.75,0.1,0.5
            400,2.0,,,,nan
            500,2.5,1e-05,,,

            """)
        XCTAssertFalse(FileManager.default.fileExists(atPath: csvPath + ".tmp"))

        let lines = try String(contentsOfFile: jsonlPath, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, [
            #"{"step":100,"epoch":0.5,"accuracy":0.25,"train_loss":1.5}"#,
            #"{"step":200,"epoch":1.0,"accuracy":0.5,"train_loss":1.0}"#,
            #"{"step":300,"epoch":1.5,"accuracy":0.75,"lr":0.1,"train_loss":0.5}"#,
            #"{"step":400,"epoch":2.0,"train_loss":NaN}"#,
            #"{"step":500,"epoch":2.5,"a,b \"odd\" name":1e-05}"#,
        ])
        // Every finite line is standard JSON.
        for line in lines where !line.contains("NaN") {
            XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
        }
        assertIOError(jsonlPath, ["\"step\" is reserved"]) { try run.appendMetrics(["step": 1], step: 1, epoch: 0) }
    }

    func testMetricsRecoverFromALineCutShort() throws {
        let dir = try makeTempDir(self)
        try Data("{\"step\":1,\"epo".utf8).write(to: URL(fileURLWithPath: dir + "/metrics.jsonl"))
        try Data("step,epoch,loss\n1,0.1,2.0\n2,0.".utf8).write(to: URL(fileURLWithPath: dir + "/metrics.csv"))
        let run = try RunDirectory(path: dir)
        try run.appendMetrics(["loss": 1.0], step: 3, epoch: 0.3)
        XCTAssertEqual(try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8),
                       "{\"step\":1,\"epo\n{\"step\":3,\"epoch\":0.3,\"loss\":1.0}\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8),
                       "step,epoch,loss\n1,0.1,2.0\n2,0.\n3,0.3,1.0\n")
    }

    func testLogAppendsTimestampedLines() throws {
        let dir = try makeTempDir(self)
        let run = try RunDirectory(path: dir)
        try run.log("started")
        try run.log("epoch 1: loss 0.5")
        let lines = try String(contentsOfFile: dir + "/log.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        let pattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z "#
        XCTAssertNotNil(lines[0].range(of: pattern + "started$", options: .regularExpression), lines[0])
        XCTAssertNotNil(lines[1].range(of: pattern + "epoch 1: loss 0.5$", options: .regularExpression), lines[1])
    }

    func testRunDirectoryNameIsStableAndOrderIndependent() {
        let args = ["lr": "0.05", "epochs": "10", "model": "resnet20"]
        // SHA-256("epochs=10\nlr=0.05\nmodel=resnet20") starts daba8b588a (Python: hashlib.sha256(...).hexdigest()).
        XCTAssertEqual(runDirectoryName(prefix: "train", nonDefault: args), "train_daba8b588a_epochs=10_lr=0.05_model=resnet20")
        var reordered: [String: String] = [:]
        for k in ["model", "lr", "epochs"] { reordered[k] = args[k] }
        XCTAssertEqual(runDirectoryName(prefix: "train", nonDefault: reordered), runDirectoryName(prefix: "train", nonDefault: args))
        XCTAssertNotEqual(runDirectoryName(prefix: "train", nonDefault: ["lr": "0.1"]), runDirectoryName(prefix: "train", nonDefault: ["lr": "0.10"]))
        // SHA-256 of the empty string: e3b0c44298fc…
        XCTAssertEqual(runDirectoryName(prefix: "train", nonDefault: [:]), "train_e3b0c44298")
        XCTAssertEqual(runDirectoryName(prefix: "p", nonDefault: ["a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"]),
                       "p_5925a39647_a=1_b=2_c=3_d=4_+2")
        XCTAssertEqual(runDirectoryName(prefix: "t", nonDefault: ["data": "/tmp/my data/cifar", "lr": "0.1"]),
                       "t_0b7bb2d961_data=-tmp-my-data-cifar_lr=0.1")
        let long = runDirectoryName(prefix: "t", nonDefault: ["k": String(repeating: "x", count: 100)])
        XCTAssertEqual(long.count, "t_0123456789_k=".count + 24)
    }
}
