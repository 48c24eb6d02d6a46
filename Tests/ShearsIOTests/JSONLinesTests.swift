import Foundation
import XCTest
@testable import ShearsIO

final class JSONLinesTests: XCTestCase {
    private func write(_ text: String, _ name: String = "m.jsonl") throws -> String {
        let p = (try makeTempDir(self) as NSString).appendingPathComponent(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// What `appendMetrics` writes (bare NaN/Infinity tokens) comes back as the same non-finite values.
    func testRowsKeepNonFiniteValuesAsAppendMetricsWritesThem() throws {
        let dir = try makeTempDir(self)
        let run = try RunDirectory(path: dir)
        try run.appendMetrics(["train_loss": 0.5, "test_acc": 0.9], step: 1, epoch: 0.5)
        try run.appendMetrics(["train_loss": .nan, "grad": .infinity, "low": -.infinity], step: 2, epoch: 1)
        let read = try JSONLines.rows(run.path(RunDirectory.metricsJSONL))
        XCTAssertEqual(read.elements.count, 2)
        XCTAssertEqual(read.lineNumbers, [1, 2])
        XCTAssertEqual(read.elements[0]["train_loss"], 0.5)
        XCTAssertEqual(read.elements[0]["step"], 1)
        XCTAssertEqual(read.elements[0]["epoch"], 0.5)
        XCTAssertTrue(read.elements[1]["train_loss"]!.isNaN)
        XCTAssertEqual(read.elements[1]["grad"], .infinity)
        XCTAssertEqual(read.elements[1]["low"], -.infinity)
        XCTAssertNil(read.partialLastLine)
    }

    /// The records' encoders write non-finite floats as strings; both spellings decode.
    func testRecordsDecodeBothSpellingsOfNonFinite() throws {
        struct R: Codable, Equatable { var a: Double; var b: Double; var name: String }
        let p = try write("{\"a\":\"NaN\",\"b\":1.5,\"name\":\"x\"}\n{\"a\":-Infinity,\"b\":Infinity,\"name\":\"NaN\"}\n")
        let rs = try JSONLines.records(R.self, p).elements
        XCTAssertEqual(rs.count, 2)
        XCTAssertTrue(rs[0].a.isNaN)
        XCTAssertEqual(rs[0].b, 1.5)
        XCTAssertEqual(rs[1].a, -.infinity)
        XCTAssertEqual(rs[1].b, .infinity)
        XCTAssertEqual(rs[1].name, "NaN", "a string that spells NaN stays a string where the record wants text")
        let rows = try JSONLines.rows(p).elements
        XCTAssertTrue(rows[0]["a"]!.isNaN, "the string \"NaN\" is a number in a row")
        XCTAssertNil(rows[0]["name"], "text members are not numbers")
    }

    func testGarbageLineIsAnErrorNamingFileAndLine() throws {
        let p = try write("{\"step\":1,\"x\":2}\n\nnot json at all\n{\"step\":3}\n")
        assertIOError(p, ["line 3", "not valid JSON"]) { _ = try JSONLines.rows(p) }
    }

    func testNonObjectLineIsAnError() throws {
        let p = try write("{\"step\":1}\n[1,2]\n")
        assertIOError(p, ["line 2", "expected a JSON object", "an array"]) { _ = try JSONLines.rows(p) }
    }

    func testRecordOfTheWrongShapeNamesLineAndKey() throws {
        struct R: Decodable { var cycle: Int }
        let p = try write("{\"cycle\":0}\n{\"cycel\":1}\n")
        assertIOError(p, ["line 2", "missing key \"cycle\""]) { _ = try JSONLines.records(R.self, p) }
    }

    /// A killed writer's half line at the very end is left out and reported; the same text followed by a newline
    /// (something wrote after it) is an error.
    func testCutShortLastLineIsReportedNotFatal() throws {
        let p = try write("{\"step\":1,\"x\":2}\n{\"step\":2,\"x\":")
        let read = try JSONLines.rows(p)
        XCTAssertEqual(read.elements.count, 1)
        XCTAssertEqual(read.partialLastLine, 2)
        let q = try write("{\"step\":1,\"x\":2}\n{\"step\":2,\"x\":\n{\"step\":3}\n", "q.jsonl")
        assertIOError(q, ["line 2"]) { _ = try JSONLines.rows(q) }
    }

    func testLastLineWithoutNewlineThatParsesIsKept() throws {
        let p = try write("{\"step\":1}\n{\"step\":2}")
        let read = try JSONLines.rows(p)
        XCTAssertEqual(read.elements.map { $0["step"] }, [1, 2])
        XCTAssertNil(read.partialLastLine)
    }

    func testMissingFile() throws {
        let p = (try makeTempDir(self) as NSString).appendingPathComponent("absent.jsonl")
        assertIOError(p, ["no such file"]) { _ = try JSONLines.rows(p) }
        XCTAssertTrue(try JSONLines.rows(p, ifMissing: .empty).elements.isEmpty)
    }

    /// Strict JSON elsewhere is unchanged: safetensors headers still refuse the non-finite tokens.
    func testStrictParserStillRefusesNaN() {
        XCTAssertThrowsError(try JSONParser.parse(Array("{\"a\":NaN}".utf8)))
        XCTAssertEqual(try JSONParser.parse(Array("[NaN,-Infinity]".utf8), allowNonFinite: true),
                       .array([.number("NaN"), .number("-Infinity")]))
        XCTAssertThrowsError(try JSONParser.parse(Array("[-Inf]".utf8), allowNonFinite: true))
    }
}

/// `RunDirectory.truncateMetrics`, for the resume paths (today `Trainer.truncateMetrics`, which drops NaN rows).
final class TruncateMetricsTests: XCTestCase {
    func testKeepsNonFiniteRowsUpToTheStepAndDropsACutLine() throws {
        let run = try RunDirectory(path: try makeTempDir(self))
        try run.appendMetrics(["loss": 1], step: 1, epoch: 0.5)
        try run.appendMetrics(["loss": .nan], step: 2, epoch: 1)
        try run.appendMetrics(["loss": 3], step: 3, epoch: 1.5)
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: run.path(RunDirectory.metricsJSONL)))
        try h.seekToEnd(); h.write(Data("{\"step\":4,\"lo".utf8)); try h.close()
        try run.truncateMetrics(after: 2)
        let rows = try JSONLines.rows(run.path(RunDirectory.metricsJSONL))
        XCTAssertEqual(rows.elements.map { $0["step"] }, [1, 2])
        XCTAssertTrue(rows.elements[1]["loss"]!.isNaN, "the diverged row survives the resume")
        XCTAssertNil(rows.partialLastLine)
        let csv = try String(contentsOfFile: run.path(RunDirectory.metricsCSV), encoding: .utf8)
        XCTAssertEqual(csv, "step,epoch,loss\n1,0.5,1.0\n2,1.0,nan\n")
        try run.appendMetrics(["loss": 4], step: 3, epoch: 1.5)
        XCTAssertEqual(try JSONLines.rows(run.path(RunDirectory.metricsJSONL)).elements.map { $0["step"] }, [1, 2, 3])
    }
}
