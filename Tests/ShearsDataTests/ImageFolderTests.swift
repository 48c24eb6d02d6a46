import Foundation
@testable import ShearsData
import ShearsTensor
import XCTest

/// Image-folder and Tiny-ImageNet datasets built on disk by the test (PNG and JPEG through the real codecs).
final class ImageFolderTests: XCTestCase {
    var directory = ""
    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }
    private func path(_ p: String) -> String { Fixtures.path(directory, p) }

    /// Class c's image k is a solid colour that identifies both.
    private func colour(_ c: Int, _ k: Int) -> (UInt8, UInt8, UInt8) { (UInt8(40 * c + 10), UInt8(20 * k + 5), 200) }

    func testTrainAndValFoldersWithPNGAndJPEGResizedAndCropped() throws {
        for (c, name) in ["dog", "cat"].enumerated() {
            for k in 0..<3 {   // non-square PNGs 12×6 and JPEGs 9×15
                try FormatFixtures.write(FormatFixtures.solidPNG(width: 12, height: 6, colour(c, k)), path("train/\(name)/\(k).png"))
            }
            try FormatFixtures.write(try FormatFixtures.solidJPEG(width: 9, height: 15, colour(c, 9)), path("val/\(name)/v.JPG"))
        }
        try FormatFixtures.write(Array("notes".utf8), path("train/cat/readme.txt"))   // ignored, as ImageFolder does
        let pair = try loadDatasetPair(kind: .folder, dataDir: directory, imageSize: 4)
        XCTAssertEqual(pair.classNames, ["cat", "dog"])   // sorted, not creation order
        XCTAssertEqual(pair.train.images.shape, [6, 3, 4, 4])
        XCTAssertEqual(pair.test.images.shape, [2, 3, 4, 4])
        XCTAssertEqual(pair.train.labels, [0, 0, 0, 1, 1, 1])
        XCTAssertEqual(pair.test.labels, [0, 1])
        XCTAssertEqual(pair.train.classes, 2)
        // Train image 4 is dog's (class 1 in creation, label 1 sorted) image 1: its solid colour, exactly.
        let s = pair.train.images.scalars, want = colour(0, 1)   // "dog" was written with c = 0
        for (ch, v) in [want.0, want.1, want.2].enumerated() {
            for i in 0..<16 { XCTAssertEqual(s[(4 * 3 + ch) * 16 + i], Float(v) / 255, accuracy: 1e-6) }
        }
        // JPEG: close to the colour (lossy), every pixel.
        let t = pair.test.images.scalars, jw = colour(1, 9)   // cat (label 0) was c = 1
        for (ch, v) in [jw.0, jw.1, jw.2].enumerated() {
            for i in 0..<16 { XCTAssertEqual(t[ch * 16 + i], Float(v) / 255, accuracy: 4 / 255) }
        }
    }

    func testSeededPerClassSplitIsDisjointCompleteAndReproducible() throws {
        for c in 0..<3 { for k in 0..<5 {
            try FormatFixtures.write(FormatFixtures.solidPNG(width: 2, height: 2, colour(c, k)), path("c\(c)/\(k).png"))
        } }
        let options = ExternalDataOptions(imageSize: 2, testFraction: 0.4, splitSeed: 7)
        let a = try loadDatasetPair(kind: .folder, dataDir: directory, options: options)
        let b = try loadDatasetPair(kind: .folder, dataDir: directory, options: options)
        XCTAssertEqual(a.train.count, 9)
        XCTAssertEqual(a.test.count, 6)   // round(0.4 · 5) = 2 of each class
        XCTAssertEqual(a.test.classCounts(), [2, 2, 2])
        XCTAssertEqual(a.train.images.scalars, b.train.images.scalars)
        XCTAssertEqual(a.test.labels, b.test.labels)
        // The green channel identifies the image within its class: train ∪ test is every image, once.
        func ids(_ d: Dataset) -> [String] {
            (0..<d.count).map { i in "\(d.labels[i])-\(Int((d.images.scalars[(i * 3 + 1) * 4] * 255).rounded()))" }
        }
        XCTAssertEqual(Set(ids(a.train)).intersection(ids(a.test)), [])
        XCTAssertEqual(Set(ids(a.train)).union(ids(a.test)).count, 15)
        let other = try loadDatasetPair(kind: .folder, dataDir: directory, options: ExternalDataOptions(imageSize: 2, testFraction: 0.4, splitSeed: 8))
        XCTAssertNotEqual(ids(other.test), ids(a.test), "another seed draws another split")
        XCTAssertThrowsError(try loadDatasetPair(kind: .folder, dataDir: directory, options: ExternalDataOptions(imageSize: 2, testFraction: 0.05))) {
            XCTAssertTrue("\($0)".contains("split is empty") && "\($0)".contains("--test-fraction"), "\($0)")
        }
    }

    func testCIFARAugmentationWorksOnAFolderDataset() throws {
        for c in 0..<2 { for k in 0..<4 {
            var px: [UInt8] = []
            for i in 0..<64 { px += [UInt8((i * 7 + c * 50 + k) % 256), UInt8(i), 3] }
            try FormatFixtures.write(FormatFixtures.rgbPNG(width: 8, height: 8, pixels: px), path("train/k\(c)/\(k).png"))
        }
            try FormatFixtures.write(FormatFixtures.solidPNG(width: 8, height: 8, (1, 1, 1)), path("test/k\(c)/t.png"))
        }
        let pair = try loadDatasetPair(kind: .folder, dataDir: directory, imageSize: 8)
        let loader = DataLoader(dataset: pair.train, batchSize: 8, shuffle: true, seed: 3, augmentation: .cifar, prefetch: 1)
        let batch = Array(loader.epoch(0))[0]
        XCTAssertEqual(batch.images.shape, [8, 3, 8, 8])
        // Every augmented image is a zero-padded shift (±4) of its source, mirrored or not.
        let src = pair.train.images.scalars, got = batch.images.scalars
        for (k, i) in batch.indices.enumerated() {
            let out = Array(got[(k * 192)..<((k + 1) * 192)])
            var found = false
            for dy in 0...8 { for dx in 0...8 { for flip in [false, true] where !found {
                var candidate = [Float](repeating: 0, count: 192)
                for ch in 0..<3 { for y in 0..<8 { for x in 0..<8 {
                    let sy = y + dy - 4, sx = (flip ? 7 - x : x) + dx - 4
                    if sy >= 0 && sy < 8 && sx >= 0 && sx < 8 { candidate[(ch * 8 + y) * 8 + x] = src[((i * 3 + ch) * 8 + sy) * 8 + sx] }
                } } }
                found = candidate == out
            } } }
            XCTAssertTrue(found, "batch image \(k) (example \(i)) is a padded crop / flip of its source")
        }
    }

    func testMalformedFoldersAndImagesAreNamed() throws {
        func message(_ kind: DatasetKind = .folder) -> String {
            do { _ = try loadDatasetPair(kind: kind, dataDir: directory, imageSize: 4); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message().contains("no class folders"), message())
        try FormatFixtures.write(FormatFixtures.solidPNG(width: 4, height: 4, (1, 2, 3)), path("train/a/1.png"))
        try FileManager.default.createDirectory(atPath: path("train/b"), withIntermediateDirectories: true)
        try FormatFixtures.write(FormatFixtures.solidPNG(width: 4, height: 4, (1, 2, 3)), path("val/a/1.png"))
        XCTAssertTrue(message().contains(path("train/b")) && message().contains("no images"), message())
        try FormatFixtures.write(Array(FormatFixtures.solidPNG(width: 4, height: 4, (1, 2, 3)).prefix(40)), path("train/b/broken.png"))
        XCTAssertTrue(message().contains(path("train/b/broken.png")), message())
        try FormatFixtures.write(Array("<html>".utf8), path("train/b/broken.png"))
        XCTAssertTrue(message().contains(path("train/b/broken.png")) && message().contains("unreadable image"), message())
        try FormatFixtures.write(FormatFixtures.solidPNG(width: 4, height: 4, (1, 2, 3)), path("train/b/broken.png"))
        try FormatFixtures.write(FormatFixtures.solidPNG(width: 4, height: 4, (1, 2, 3)), path("val/zebra/1.png"))
        XCTAssertTrue(message().contains(path("val/zebra")) && message().contains("not in"), message())
        try FileManager.default.removeItem(atPath: path("val/zebra"))
        XCTAssertEqual(message(), "no error")
        XCTAssertThrowsError(try loadDatasetPair(kind: .folder, dataDir: directory, imageSize: 0)) { XCTAssertTrue("\($0)".contains("--image-size")) }
        XCTAssertThrowsError(try loadDatasetPair(kind: .folder, dataDir: nil)) { XCTAssertTrue("\($0)".contains("--data-dir")) }
        XCTAssertThrowsError(try loadDatasetPair(kind: .folder, dataDir: directory,
                                                 options: ExternalDataOptions(testFraction: .nan))) { XCTAssertTrue("\($0)".contains("--test-fraction")) }
    }

    // MARK: Tiny-ImageNet

    private func writeTinyImageNet(wnids: [String], trainPerClass: Int = 2) throws {
        try FormatFixtures.write(Array((wnids.joined(separator: "\n") + "\n").utf8), path("wnids.txt"))
        try FormatFixtures.write(Array("n00001\tentity\nn01443537\tgoldfish, Carassius auratus\nn01629819\tEuropean fire salamander\n".utf8), path("words.txt"))
        for (c, w) in wnids.enumerated() {
            for k in 0..<trainPerClass {
                try FormatFixtures.write(try FormatFixtures.solidJPEG(width: 16, height: 16, colour(c, k)), path("train/\(w)/images/\(w)_\(k).JPEG"))
            }
            try FormatFixtures.write(Array("\(w)_0.JPEG\t0\t0\t15\t15\n".utf8), path("train/\(w)/\(w)_boxes.txt"))
        }
        var annotations = ""
        for (k, w) in wnids.reversed().enumerated() {
            try FormatFixtures.write(try FormatFixtures.solidJPEG(width: 16, height: 16, (0, 0, 0)), path("val/images/val_\(k).JPEG"))
            annotations += "val_\(k).JPEG\t\(w)\t0\t0\t15\t15\n"
        }
        try FormatFixtures.write(Array(annotations.utf8), path("val/val_annotations.txt"))
    }

    func testTinyImageNetLayoutAsDistributed() throws {
        try writeTinyImageNet(wnids: ["n01629819", "n01443537", "n02000000"])   // wnids.txt is not sorted
        let pair = try loadDatasetPair(kind: .tinyImageNet, dataDir: directory, imageSize: 16)
        XCTAssertEqual(pair.classNames, ["n01443537: goldfish", "n01629819: European fire salamander", "n02000000"])
        XCTAssertEqual(pair.train.classes, 3)
        XCTAssertEqual(pair.train.images.shape, [6, 3, 16, 16])
        XCTAssertEqual(pair.train.labels, [0, 0, 1, 1, 2, 2])
        // val_0 is annotated with the last wnid of wnids.txt (n02000000, class 2), val_2 with the first (class 1).
        XCTAssertEqual(pair.test.labels, [2, 0, 1])
        // train image 0 is n01443537's first image, written with c = 1 (its position in wnids.txt).
        XCTAssertEqual(pair.train.images.scalars[0], Float(colour(1, 0).0) / 255, accuracy: 4 / 255)
        XCTAssertEqual(DatasetKind.tinyImageNet.classes, 200)
    }

    func testTinyImageNetErrorsNameTheFileAndLine() throws {
        try writeTinyImageNet(wnids: ["n01443537", "n01629819"])
        func message() -> String {
            do { _ = try loadDatasetPair(kind: .tinyImageNet, dataDir: directory, imageSize: 16); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(), "no error")
        try FormatFixtures.write(Array("val_0.JPEG\tn09999999\t0\t0\t1\t1\n".utf8), path("val/val_annotations.txt"))
        XCTAssertTrue(message().contains("val_annotations.txt: line 1") && message().contains("n09999999"), message())
        try FormatFixtures.write(Array("val_7.JPEG\tn01443537\t0\t0\t1\t1\n".utf8), path("val/val_annotations.txt"))
        XCTAssertTrue(message().contains(path("val/images/val_7.JPEG")), message())
        try FileManager.default.removeItem(atPath: path("train/n01629819"))
        XCTAssertTrue(message().contains(path("train/n01629819/images")), message())
        try FileManager.default.removeItem(atPath: path("wnids.txt"))
        XCTAssertTrue(message().contains(path("wnids.txt")), message())
    }
}
