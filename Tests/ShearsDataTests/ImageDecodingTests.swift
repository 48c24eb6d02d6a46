import Foundation
@testable import ShearsData
import XCTest

/// PNG (every colour type that needs converting) and JPEG decoding to RGB, and corrupt files named.
final class ImageDecodingTests: XCTestCase {
    private func decode(_ bytes: [UInt8]) throws -> RGBImage { try ImageDecoder.decode(bytes, file: "t.png") }

    func testRGBPNGIsExact() throws {
        let px: [UInt8] = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 255, 0, 1]
        let img = try decode(FormatFixtures.rgbPNG(width: 3, height: 2, pixels: px))
        XCTAssertEqual([img.width, img.height], [3, 2])
        XCTAssertEqual(img.pixels, px)
    }

    func testGreyAndOneBitGreyBecomeRGB() throws {
        let grey = try decode(FormatFixtures.png(width: 2, height: 1, colorType: 0, bitDepth: 8, rows: [[0, 200]]))
        XCTAssertEqual(grey.pixels, [0, 0, 0, 200, 200, 200])
        // 1 bit per pixel, 3 pixels packed high bit first: 1 0 1 → 255 0 255.
        let bits = try decode(FormatFixtures.png(width: 3, height: 1, colorType: 0, bitDepth: 1, rows: [[0b1010_0000]]))
        XCTAssertEqual(bits.pixels, [255, 255, 255, 0, 0, 0, 255, 255, 255])
    }

    func testPaletteWithTransparencyAndRGBAKeepColourDropAlpha() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 1, 2, 3]
        let p = try decode(FormatFixtures.png(width: 3, height: 1, colorType: 3, bitDepth: 8, rows: [[2, 0, 1]],
                                              palette: palette, transparency: [255, 128]))
        XCTAssertEqual(p.pixels, [1, 2, 3, 255, 0, 0, 0, 255, 0])
        // RGBA: the colour channels as stored, alpha dropped (PIL's convert("RGB")).
        let rgba = try decode(FormatFixtures.png(width: 2, height: 1, colorType: 6, bitDepth: 8,
                                                 rows: [[10, 20, 30, 255, 40, 50, 60, 128]]))
        XCTAssertEqual(rgba.pixels, [10, 20, 30, 40, 50, 60])
        // Grey + alpha.
        let ga = try decode(FormatFixtures.png(width: 1, height: 1, colorType: 4, bitDepth: 8, rows: [[77, 200]]))
        XCTAssertEqual(ga.pixels, [77, 77, 77])
    }

    func testSixteenBitIsScaledToEightBits() throws {
        // Samples 0x0000, 0x8080, 0xFFFF, 0x1234 (big-endian): v·255/65535 → 0, 128, 255, 18.
        let img = try decode(FormatFixtures.png(width: 1, height: 1, colorType: 2, bitDepth: 16, rows: [[0x00, 0x00, 0x80, 0x80, 0xff, 0xff]]))
        XCTAssertEqual(img.pixels, [0, 128, 255])
        let grey = try decode(FormatFixtures.png(width: 1, height: 1, colorType: 0, bitDepth: 16, rows: [[0x12, 0x34]]))
        XCTAssertEqual(grey.pixels.count, 3)
        for v in grey.pixels { XCTAssertEqual(Int(v), 18, accuracy: 1) }
    }

    func testJPEGRoundTripsWithinCompressionError() throws {
        // 32×32 in four flat 16×16 quadrants: the 4:2:0 chroma blocks (16×16 pixels) align with them, so
        // the error stays small.
        let colours: [[UInt8]] = [[200, 30, 40], [20, 180, 60], [10, 20, 230], [128, 128, 128]]
        var px: [UInt8] = []
        for y in 0..<32 { for x in 0..<32 { px += colours[(y / 16) * 2 + x / 16] } }
        let img = try ImageDecoder.decode(try FormatFixtures.jpeg(width: 32, height: 32, components: 3, pixels: px, quality: 100), file: "t.jpg")
        XCTAssertEqual([img.width, img.height], [32, 32])
        // libjpeg's "fancy" chroma upsampling blends colours across the quadrant edges; compare away from them.
        var worst = 0
        for y in 0..<32 where abs(y - 16) > 2 && y != 15 { for x in 0..<32 where abs(x - 16) > 2 && x != 15 {
            for c in 0..<3 { worst = max(worst, abs(Int(img.pixels[(y * 32 + x) * 3 + c]) - Int(px[(y * 32 + x) * 3 + c]))) }
        } }
        XCTAssertLessThanOrEqual(worst, 4, "JPEG at quality 100 of flat blocks")
        // Grey JPEG → R = G = B.
        let grey = try ImageDecoder.decode(try FormatFixtures.jpeg(width: 8, height: 8, components: 1, pixels: [UInt8](repeating: 90, count: 64)), file: "g.jpg")
        for i in 0..<64 {
            XCTAssertEqual(grey.pixels[3 * i], grey.pixels[3 * i + 1])
            XCTAssertEqual(grey.pixels[3 * i], grey.pixels[3 * i + 2])
            XCTAssertEqual(Int(grey.pixels[3 * i]), 90, accuracy: 2)
        }
    }

    /// Adobe CMYK JPEGs store inverted inks: R = C·K / 255 on the stored values.
    func testAdobeCMYKJPEGBecomesRGB() throws {
        let stored: [UInt8] = [255, 128, 0, 255]   // no cyan ink, half magenta, full yellow, no black → (255, 128, 0)
        let bytes = try FormatFixtures.jpeg(width: 16, height: 16, components: 4, pixels: (0..<256).flatMap { _ in stored }, quality: 100)
        let img = try ImageDecoder.decode(bytes, file: "cmyk.jpg")
        for i in 0..<256 {
            XCTAssertEqual(Int(img.pixels[3 * i]), 255, accuracy: 3)
            XCTAssertEqual(Int(img.pixels[3 * i + 1]), 128, accuracy: 3)
            XCTAssertEqual(Int(img.pixels[3 * i + 2]), 0, accuracy: 3)
        }
    }

    func testCorruptTruncatedAndUnknownImagesAreErrorsNamingTheFile() throws {
        let png = FormatFixtures.solidPNG(width: 8, height: 8, (1, 2, 3))
        XCTAssertThrowsError(try ImageDecoder.decode(Array(png.prefix(png.count - 20)), file: "cut.png")) {
            XCTAssertTrue("\($0)".contains("cut.png") && "\($0)".contains("PNG"), "\($0)")
        }
        let jpeg = try FormatFixtures.solidJPEG(width: 32, height: 32, (9, 9, 9))
        XCTAssertThrowsError(try ImageDecoder.decode(Array(jpeg.prefix(jpeg.count / 2)), file: "cut.jpg")) {
            XCTAssertTrue("\($0)".contains("cut.jpg") && "\($0)".contains("JPEG"), "\($0)")
        }
        XCTAssertThrowsError(try ImageDecoder.decode(Array(jpeg.prefix(40)), file: "head.jpg")) { XCTAssertTrue("\($0)".contains("head.jpg")) }
        XCTAssertThrowsError(try ImageDecoder.decode(Array("GIF89a....".utf8), file: "x.gif.png")) {
            XCTAssertTrue("\($0)".contains("x.gif.png: unreadable image"), "\($0)")
        }
        XCTAssertThrowsError(try ImageDecoder.decode([], file: "empty.png")) { XCTAssertTrue("\($0)".contains("empty file")) }
        var badCRC = png
        badCRC[20] ^= 0x55   // inside IHDR: its CRC no longer matches
        XCTAssertThrowsError(try ImageDecoder.decode(badCRC, file: "crc.png")) { XCTAssertTrue("\($0)".contains("crc.png")) }
    }
}

/// The encoders used to make folder datasets write files the decoders read back (PNG exactly).
final class ImageEncodingTests: XCTestCase {
    func testPNGRoundTripIsExactAndJPEGIsClose() throws {
        let rgb: [UInt8] = (0..<(5 * 3 * 3)).map { UInt8(($0 * 29) % 256) }
        let png = try ImageDecoder.decode(try ImageEncoder.png(width: 5, height: 3, rgb: rgb), file: "e.png")
        XCTAssertEqual([png.width, png.height], [5, 3])
        XCTAssertEqual(png.pixels, rgb)
        let flat = [UInt8]((0..<(16 * 16)).flatMap { _ in [UInt8(60), 120, 180] })
        let jpeg = try ImageDecoder.decode(try ImageEncoder.jpeg(width: 16, height: 16, rgb: flat, quality: 95), file: "e.jpg")
        XCTAssertLessThanOrEqual(zip(jpeg.pixels, flat).map { abs(Int($0) - Int($1)) }.max()!, 3)
        XCTAssertThrowsError(try ImageEncoder.png(width: 2, height: 2, rgb: [1, 2, 3])) { XCTAssertTrue("\($0)".contains("2×2×3")) }
    }

    func testSyntheticFolderLoadsWithItsClassesAndSplits() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ImageEncoder.writeSyntheticFolder(dir, classes: 3, perClass: 5, width: 10, height: 7, jpeg: true, seed: 1)
        let pair = try loadDatasetPair(kind: .folder, dataDir: dir, imageSize: 6)
        XCTAssertEqual(pair.classNames, ["class00", "class01", "class02"])
        XCTAssertEqual(pair.train.images.shape, [15, 3, 6, 6])
        XCTAssertEqual(pair.test.classCounts(), [1, 1, 1])
        // The parallel loader puts each file's decode + resize in its slot: the same as doing it one file at a time.
        let files = try ImageFolder.labelledFiles(directory: dir, split: .train, testFraction: 0.2, splitSeed: 0).files
        XCTAssertEqual(files.count, 15)
        let s = pair.train.images.scalars
        for (i, f) in files.enumerated() {
            var one = [Float](repeating: -1, count: 3 * 36)
            Resampling.resizeAndCrop(try ImageDecoder.load(f.path), size: 6, into: &one)
            XCTAssertEqual(Array(s[(i * 108)..<((i + 1) * 108)]), one, f.path)
            XCTAssertEqual(pair.train.labels[i], f.label)
        }
    }
}
