import CJPEG
import CPNG
import Foundation

/// A decoded image: 8-bit RGB, interleaved, row-major (`pixels[(y·width + x)·3 + c]`).
struct RGBImage {
    let width: Int
    let height: Int
    let pixels: [UInt8]
}

/// PNG and JPEG decoding through Debian's libpng and libjpeg-turbo, chosen by the file's signature (not its
/// extension: a `.jpg` that is really a PNG still loads), always to RGB.
///
/// - PNG: grey, grey+alpha, palette (with or without tRNS), RGB, RGBA, 1/2/4/8/16 bits per sample all
///   come out as 8-bit RGB through libpng's simplified API. Alpha is dropped (the colour channels kept as
///   stored), which is what PIL's `convert("RGB")`, and so torchvision's `ImageFolder`, does. 16-bit samples
///   without a gAMA/sRGB chunk are taken as sRGB-encoded (`PNG_IMAGE_FLAG_16BIT_sRGB`) and scaled to 8 bits,
///   instead of libpng's default of treating them as linear light.
/// - JPEG: grey and YCbCr converted by libjpeg; CMYK / YCCK (Adobe, inverted) converted here. A corrupt or
///   truncated stream is an error, even where libjpeg would only warn and fill the rest with grey.
enum ImageDecoder {
    /// Images larger than this are refused rather than decoded (a 2-GB allocation from a 100-byte file).
    static let maximumPixels = 1 << 28

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    static func decode(_ bytes: [UInt8], file: String) throws -> RGBImage {
        if bytes.count >= 8 && Array(bytes[0..<8]) == pngSignature { return try decodePNG(bytes, file: file) }
        if bytes.count >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff { return try decodeJPEG(bytes, file: file) }
        let start = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw DataError("\(file): unreadable image: expected a PNG (89 50 4e 47 …) or JPEG (ff d8 ff) file, found \(bytes.isEmpty ? "an empty file" : "bytes \(start)")")
    }

    /// Reads and decodes one image file.
    static func load(_ file: String) throws -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw DataError("\(file): cannot read image file: \(error.localizedDescription)")
        }
        return try decode([UInt8](data), file: file)
    }

    private static func pngMessage(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func decodePNG(_ bytes: [UInt8], file: String) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else {
            throw DataError("\(file): corrupt PNG image: \(pngMessage(&image))")
        }
        let (w, h) = (Int(image.width), Int(image.height))
        guard w > 0 && h > 0 && w * h <= maximumPixels else {
            png_image_free(&image)
            throw DataError("\(file): PNG image of \(w)×\(h) pixels: expected at most \(maximumPixels) pixels")
        }
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        image.format = 3   // PNG_FORMAT_RGBA = PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA (8-bit, not premultiplied)
        var rgba = [UInt8](repeating: 0, count: w * h * 4)
        let finished = rgba.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard finished != 0 else {
            throw DataError("\(file): corrupt or truncated PNG image: \(pngMessage(&image))")
        }
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            rgb[3 * i] = rgba[4 * i]
            rgb[3 * i + 1] = rgba[4 * i + 1]
            rgb[3 * i + 2] = rgba[4 * i + 2]
        }
        return RGBImage(width: w, height: h, pixels: rgb)
    }

    static func decodeJPEG(_ bytes: [UInt8], file: String) throws -> RGBImage {
        var out: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { b in
            message.withUnsafeMutableBufferPointer { m in
                shears_jpeg_decode_rgb(b.baseAddress, b.count, &out, &w, &h, m.baseAddress, m.count)
            }
        }
        guard status == 0, let out else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DataError("\(file): corrupt or truncated JPEG image: \(reason)")
        }
        defer { free(out) }
        let count = Int(w) * Int(h) * 3
        guard Int(w) * Int(h) <= maximumPixels else {
            throw DataError("\(file): JPEG image of \(w)×\(h) pixels: expected at most \(maximumPixels) pixels")
        }
        return RGBImage(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: out, count: count)))
    }
}
