import Foundation
@testable import ShearsData
import ShearsTensor
import XCTest

/// `.npz` / `.npy` datasets: numpy's own files (committed, from Fixtures/make_npy_fixtures.py), files written
/// here byte by byte, layout detection, and every malformed case named in the error.
final class NumPyDatasetTests: XCTestCase {
    var directory = ""
    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }
    private func file(_ name: String) -> String { Fixtures.path(directory, name) }

    /// make_npy_fixtures.py's uint8 formula, x[n, h, w, c] of an NHWC array.
    static func u8(_ n: Int, _ h: Int, _ w: Int, _ c: Int, salt: Int) -> UInt8 { UInt8((31 * n + 7 * h + 3 * w + 11 * c + salt) % 256) }

    func testNumpySavezNHWCUint8IsReadAsNCHWScaled() throws {
        let pair = try loadDatasetPair(kind: .npz, dataDir: nil, dataPath: try FormatFixtures.committed("nhwc_uint8.npz"))
        XCTAssertEqual(pair.train.images.shape, [6, 3, 4, 5])
        XCTAssertEqual(pair.test.images.shape, [2, 3, 4, 5])
        XCTAssertEqual(pair.train.classes, 4)   // labels (3i) % 4 reach 3
        XCTAssertEqual(pair.train.labels, [0, 3, 2, 1, 0, 3])
        XCTAssertEqual(pair.test.labels, [1, 0])
        for (d, salt) in [(pair.train, 0), (pair.test, 1)] {
            let s = d.images.scalars
            for n in 0..<d.count { for c in 0..<3 { for h in 0..<4 { for w in 0..<5 {
                XCTAssertEqual(s[((n * 3 + c) * 4 + h) * 5 + w], Float(Self.u8(n, h, w, c, salt: salt)) / 255)
            } } } }
        }
    }

    func testNumpySavezCompressedNCHWFloat32KeepsValues() throws {
        let path = try FormatFixtures.committed("nchw_float32_compressed.npz")
        let pair = try loadDatasetPair(kind: .npz, dataDir: nil, dataPath: path)
        XCTAssertEqual(pair.train.images.shape, [5, 1, 3, 4])
        XCTAssertEqual(pair.train.labels, [0, 0, 0, 0, 0].enumerated().map { Int32((3 * $0.offset) % 3) })
        XCTAssertEqual(pair.test.labels, [2, 2, 2])
        XCTAssertEqual(pair.train.classes, 3)
        for (d, offset) in [(pair.train, Float(0)), (pair.test, 0.5)] {
            let s = d.images.scalars
            for n in 0..<d.count { for h in 0..<3 { for w in 0..<4 {
                XCTAssertEqual(s[(n * 3 + h) * 4 + w], (Float(n) + 0.125 * Float(h) + 0.0625 * Float(w)) / 8 + offset)
            } } }
        }
        // The same entry point through loadDataset with the file as the "directory".
        XCTAssertEqual(try loadDataset(.npz, split: .test, directory: path).images.scalars, pair.test.images.scalars)
    }

    func testFortranOrderAndFormatVersions2And3() throws {
        for name in ["fortran_uint8.npy", "v2_uint8.npy", "v3_uint8.npy"] {
            let a = try NPYArray(FileBytes.read(try FormatFixtures.committed(name)), name: name)
            XCTAssertEqual(a.shape, [2, 3, 4, 3], name)
            var expected: [UInt8] = []
            for n in 0..<2 { for h in 0..<3 { for w in 0..<4 { for c in 0..<3 { expected.append(Self.u8(n, h, w, c, salt: 5)) } } } }
            XCTAssertEqual(a.data, expected, name)
        }
    }

    /// Writes x/y arrays into a zip (stored, deflated, zip64) and as .npy files in a directory: all read alike.
    func testSwiftWrittenArchivesAndNpyDirectoryAgree() throws {
        let x = FormatFixtures.npy(descr: "|u1", shape: [3, 2, 2, 1], data: (0..<12).map { UInt8($0 * 20) })
        let y = FormatFixtures.npy(descr: "<i8", shape: [3], data: FormatFixtures.int64Bytes([2, 0, 1]))
        let xt = FormatFixtures.npy(descr: "|u1", shape: [1, 2, 2, 1], data: [1, 2, 3, 4])
        let yt = FormatFixtures.npy(descr: "<i4", shape: [1, 1], data: FormatFixtures.int32Bytes([4]))
        let members = [("x_train.npy", x), ("y_train.npy", y), ("x_test.npy", xt), ("y_test.npy", yt)]
        var results: [DatasetPair] = []
        for (k, (deflate, zip64)) in [(false, false), (true, false), (true, true)].enumerated() {
            try FormatFixtures.write(FormatFixtures.zip(members, deflate: deflate, zip64: zip64), file("d\(k).npz"))
            results.append(try loadDatasetPair(kind: .npz, dataDir: nil, dataPath: file("d\(k).npz")))
        }
        let dir = file("arrays")
        for (name, bytes) in members { try FormatFixtures.write(bytes, Fixtures.path(dir, name)) }
        results.append(try loadDatasetPair(kind: .npz, dataDir: dir))
        for r in results {
            XCTAssertEqual(r.train.images.shape, [3, 1, 2, 2])   // NHWC with C = 1 last
            XCTAssertEqual(r.train.images.scalars, (0..<12).map { Float($0 * 20) / 255 })
            XCTAssertEqual(r.train.labels, [2, 0, 1])
            XCTAssertEqual(r.test.labels, [4])
            XCTAssertEqual(r.train.classes, 5)
        }
    }

    func testLayoutDetectionAmbiguityAndOverride() throws {
        // [N, 3, 2, 3]: dimension 1 and dimension 3 are both 3 — the shape cannot decide.
        let data = (0..<36).map { UInt8($0) }
        let a = try NPYArray(FormatFixtures.npy(descr: "|u1", shape: [2, 3, 2, 3], data: data), name: "x.npy")
        XCTAssertThrowsError(try NumPyDataset.imageTensor(a, layout: .auto, name: "x.npy")) { e in
            XCTAssertTrue("\(e)".contains("x.npy") && "\(e)".contains("--layout nchw"), "\(e)")
        }
        let nchw = try NumPyDataset.imageTensor(a, layout: .nchw, name: "x.npy")
        XCTAssertEqual(nchw.shape, [2, 3, 2, 3])
        XCTAssertEqual(nchw.scalars, data.map { Float($0) / 255 })
        let nhwc = try NumPyDataset.imageTensor(a, layout: .nhwc, name: "x.npy")
        XCTAssertEqual(nhwc.shape, [2, 3, 3, 2])   // [N, H=3, W=2, C=3] → [N, C, H, W]
        // element [n=1, c=2, h=0, w=1] of the NCHW result is x[1, 0, 1, 2] = 18 + 0 + 3 + 2
        XCTAssertEqual(nhwc.scalars[((1 * 3 + 2) * 3 + 0) * 2 + 1], Float(18 + 3 + 2) / 255)
        // Neither dimension 1 nor 3 is 1 or 3 (4 channels): needs the layout too.
        let four = try NPYArray(FormatFixtures.npy(descr: "|u1", shape: [1, 4, 2, 4], data: [UInt8](repeating: 0, count: 32)), name: "f.npy")
        XCTAssertThrowsError(try NumPyDataset.imageTensor(four, layout: .auto, name: "f.npy")) { XCTAssertTrue("\($0)".contains("neither")) }
        XCTAssertEqual(try NumPyDataset.imageTensor(four, layout: .nhwc, name: "f.npy").shape, [1, 4, 4, 2])
        // Rank 3 is one grey channel.
        let grey = try NPYArray(FormatFixtures.npy(descr: "<f4", shape: [2, 2, 3], data: FormatFixtures.float32Bytes((0..<12).map(Float.init))), name: "g.npy")
        XCTAssertEqual(try NumPyDataset.imageTensor(grey, layout: .auto, name: "g.npy").shape, [2, 1, 2, 3])
    }

    /// Writes a valid archive with one member replaced and returns the error loading it gives.
    private func error(replacing member: String, with bytes: [UInt8], classes: Int? = nil) -> String {
        var members = [("x_train.npy", FormatFixtures.npy(descr: "|u1", shape: [2, 1, 2, 2], data: [UInt8](repeating: 7, count: 8))),
                       ("y_train.npy", FormatFixtures.npy(descr: "<i8", shape: [2], data: FormatFixtures.int64Bytes([0, 1]))),
                       ("x_test.npy", FormatFixtures.npy(descr: "|u1", shape: [1, 1, 2, 2], data: [UInt8](repeating: 7, count: 4))),
                       ("y_test.npy", FormatFixtures.npy(descr: "<i8", shape: [1], data: FormatFixtures.int64Bytes([1])))]
        members = members.map { $0.0 == member ? ($0.0, bytes) : $0 }.filter { !$0.1.isEmpty }
        let path = file("bad-\(UUID().uuidString).npz")
        do {
            try FormatFixtures.write(FormatFixtures.zip(members, deflate: true), path)
            _ = try loadDatasetPair(kind: .npz, dataDir: nil, dataPath: path, options: ExternalDataOptions(classes: classes))
            return "no error"
        } catch {
            XCTAssertTrue("\(error)".contains(path), "the message names the file: \(error)")
            return "\(error)"
        }
    }

    func testMalformedArraysNameTheFileAndTheProblem() throws {
        let npy = FormatFixtures.npy
        XCTAssertTrue(error(replacing: "x_train.npy", with: npy("<f8", [2, 1, 2, 2], [UInt8](repeating: 0, count: 64), false, 1)).contains("float64"))
        XCTAssertTrue(error(replacing: "x_train.npy", with: npy(">f4", [2, 1, 2, 2], [UInt8](repeating: 0, count: 32), false, 1)).contains("big-endian"))
        XCTAssertTrue(error(replacing: "x_train.npy", with: npy("|u1", [2, 4], [UInt8](repeating: 0, count: 8), false, 1)).contains("rank 2"))
        XCTAssertTrue(error(replacing: "x_train.npy", with: Array(npy("|u1", [2, 1, 2, 2], [UInt8](repeating: 0, count: 8), false, 1).dropLast(3))).contains("truncated .npy data"))
        XCTAssertTrue(error(replacing: "x_train.npy", with: Array("not numpy at all".utf8)).contains("magic"))
        XCTAssertTrue(error(replacing: "x_train.npy", with: npy("|u1", [3, 1, 2, 2], [UInt8](repeating: 0, count: 12), false, 1)).contains("3 images but"))
        let nan = FormatFixtures.float32Bytes([0, .nan, 0, 0, 0, 0, 0, 0])
        XCTAssertTrue(error(replacing: "x_train.npy", with: npy("<f4", [2, 1, 2, 2], nan, false, 1)).contains("non-finite pixel value at flat index 1"))
        XCTAssertTrue(error(replacing: "y_train.npy", with: npy("<i8", [2], FormatFixtures.int64Bytes([0, -1]), false, 1)).contains("label out of range at index 1"))
        XCTAssertTrue(error(replacing: "y_train.npy", with: npy("<f4", [2], FormatFixtures.float32Bytes([0, 1]), false, 1)).contains("float32"))
        XCTAssertTrue(error(replacing: "y_train.npy", with: npy("<i8", [2], FormatFixtures.int64Bytes([0, 5]), false, 1), classes: 3).contains("expected 0..<3"))
        XCTAssertTrue(error(replacing: "y_test.npy", with: []).contains("no array 'y_test'"))
        XCTAssertTrue(error(replacing: "y_train.npy", with: npy("<i8", [1, 2], FormatFixtures.int64Bytes([0, 1]), false, 1)).contains("expected rank 1"))
        XCTAssertTrue(error(replacing: "y_train.npy", with: npy("<i2", [2], [0, 0, 1, 0], false, 1)).contains("int16"))
    }

    func testCorruptAndTruncatedArchives() throws {
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try FormatFixtures.committed("nhwc_uint8.npz"))))
        func message(_ bytes: [UInt8]) -> String {
            let p = file("c-\(UUID().uuidString).npz")
            try? FormatFixtures.write(bytes, p)
            do { _ = try loadDatasetPair(kind: .npz, dataDir: nil, dataPath: p); return "no error" } catch {
                XCTAssertTrue("\(error)".contains(p), "\(error)")
                return "\(error)"
            }
        }
        XCTAssertTrue(message(Array(good.prefix(good.count / 2))).contains("end-of-central-directory"))
        XCTAssertTrue(message([]).contains("not a zip"))
        var flipped = good
        flipped[200] ^= 0xff   // inside the first stored member's data
        XCTAssertTrue(message(flipped).contains("CRC-32"), message(flipped))
        // A deflated member cut short (its bytes zeroed) is a deflate error, not garbage data.
        var compressed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try FormatFixtures.committed("nchw_float32_compressed.npz"))))
        for i in 120..<200 { compressed[i] = 0 }
        XCTAssertTrue(message(compressed).contains("corrupt member"), message(compressed))
        XCTAssertThrowsError(try loadDatasetPair(kind: .npz, dataDir: nil, dataPath: file("missing.npz"))) { XCTAssertTrue("\($0)".contains("no such file")) }
        XCTAssertThrowsError(try loadDatasetPair(kind: .npz, dataDir: nil)) { XCTAssertTrue("\($0)".contains("--data-path")) }
        XCTAssertThrowsError(try loadDatasetPair(kind: .npz, dataDir: directory)) { XCTAssertTrue("\($0)".contains("y_train.npy: missing file")) }
    }
}
