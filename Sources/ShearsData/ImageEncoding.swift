import CJPEG
import CPNG
import Foundation
import ShearsTensor

/// Writing PNG and JPEG files (libpng's simplified API, libjpeg-turbo), for making image-folder datasets:
/// the data benchmark's and the examples'. 8-bit RGB in, interleaved row-major.
public enum ImageEncoder {
    public static func png(width: Int, height: Int, rgb: [UInt8]) throws -> [UInt8] {
        guard width > 0, height > 0, rgb.count == width * height * 3 else {
            throw DataError("PNG encoding: expected \(width)×\(height)×3 bytes of RGB, got \(rgb.count)")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = 2   // PNG_FORMAT_RGB
        var size = 0
        // First call measures, second writes (libpng's documented two-pass use of png_image_write_to_memory).
        guard rgb.withUnsafeBytes({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }) != 0 else {
            throw DataError("PNG encoding failed: \(message(&image))")
        }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { o in
            rgb.withUnsafeBytes { png_image_write_to_memory(&image, o.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard ok != 0 else { throw DataError("PNG encoding failed: \(message(&image))") }
        return Array(out[..<size])
    }

    public static func jpeg(width: Int, height: Int, rgb: [UInt8], quality: Int = 90) throws -> [UInt8] {
        guard width > 0, height > 0, rgb.count == width * height * 3 else {
            throw DataError("JPEG encoding: expected \(width)×\(height)×3 bytes of RGB, got \(rgb.count)")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var text = [CChar](repeating: 0, count: 256)
        let status = shears_jpeg_encode(rgb, Int32(width), Int32(height), 3, Int32(quality), &out, &size, &text, text.count)
        guard status == 0, let out else {
            throw DataError("JPEG encoding failed: \(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Writes a synthetic image-folder dataset: `train/` and `val/` with `classes` class folders
    /// (`class00`, …), `perClass` training and `perClass / 5` (at least 1) validation images each, of
    /// `width × height` pixels — smooth class-dependent colour gradients plus seeded noise, JPEG or PNG.
    public static func writeSyntheticFolder(_ directory: String, classes: Int, perClass: Int, width: Int, height: Int,
                                            jpeg: Bool = true, seed: UInt64 = 0) throws {
        var g = Generator(seed: seed)
        for split in ["train", "val"] {
            let count = split == "train" ? perClass : max(1, perClass / 5)
            for c in 0..<classes {
                let folder = "\(directory)/\(split)/class\(String(format: "%02d", c))"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for k in 0..<count {
                    var rgb = [UInt8](repeating: 0, count: width * height * 3)
                    for y in 0..<height { for x in 0..<width { for ch in 0..<3 {
                        let base = (c * 37 + ch * 80 + (ch == 0 ? x : y) * 255 / max(1, width)) % 256
                        rgb[(y * width + x) * 3 + ch] = UInt8(clamping: base + g.nextInt(below: 32) - 16)
                    } } }
                    let bytes = jpeg ? try self.jpeg(width: width, height: height, rgb: rgb) : try png(width: width, height: height, rgb: rgb)
                    try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(k).\(jpeg ? "jpg" : "png")"))
                }
            }
        }
    }
}
