import CJPEG
import CZlib
import Foundation
import XCTest

/// Writers for the external formats the new readers take — `.npy`, zip (stored / deflated / zip64), PNG
/// (any colour type and bit depth, chunk by chunk, so there is no gAMA chunk to change the values) and JPEG
/// (libjpeg-turbo) — so each test builds exactly the file it needs, malformed ones included.
enum FormatFixtures {
    /// The committed fixture `name` (written by Fixtures/make_npy_fixtures.py with numpy).
    static func committed(_ name: String) throws -> String {
        let base = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
        return try XCTUnwrap(Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures")).path
    }

    static func le(_ v: UInt64, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// A `.npy` file: header dict padded so the data starts at a multiple of 64, as numpy pads it.
    static func npy(descr: String, shape: [Int], data: [UInt8], fortran: Bool = false, version: UInt8 = 1) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': (\(dims)), }"
        let lengthBytes = version == 1 ? 2 : 4
        while (10 + lengthBytes - 2 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        return [0x93] + Array("NUMPY".utf8) + [version, 0] + le(UInt64(header.utf8.count), lengthBytes) + Array(header.utf8) + data
    }

    static func float32Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { le(UInt64($0.bitPattern), 4) } }
    static func int64Bytes(_ v: [Int]) -> [UInt8] { v.flatMap { le(UInt64(bitPattern: Int64($0)), 8) } }
    static func int32Bytes(_ v: [Int]) -> [UInt8] { v.flatMap { le(UInt64(UInt32(bitPattern: Int32($0))), 4) } }

    static func crc(_ b: [UInt8]) -> UInt32 { b.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) } }

    /// Raw deflate (no zlib wrapper), what zip's method 8 stores.
    static func deflateRaw(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        deflateInit2_(&stream, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 16)
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o -> Int in
                stream.next_in = i.baseAddress; stream.avail_in = UInt32(i.count)
                stream.next_out = o.baseAddress; stream.avail_out = UInt32(o.count)
                deflate(&stream, Z_FINISH)
                return o.count - Int(stream.avail_out)
            }
        }
        deflateEnd(&stream)
        return Array(out[..<produced])
    }

    /// A zip archive of `members`, deflated or stored; `zip64` saturates the central directory's sizes and
    /// offsets at 0xFFFFFFFF and puts the real ones in a zip64 extra field (as writers do past 4 GB).
    static func zip(_ members: [(String, [UInt8])], deflate: Bool = false, zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, data) in members {
            let body = deflate ? deflateRaw(data) : data, method: UInt64 = deflate ? 8 : 0
            let offset = out.count, nameBytes = Array(name.utf8)
            out += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(method, 2) + le(0, 4) + le(UInt64(crc(data)), 4)
                + le(UInt64(body.count), 4) + le(UInt64(data.count), 4) + le(UInt64(nameBytes.count), 2) + le(0, 2) + nameBytes + body
            let extra = zip64 ? le(1, 2) + le(24, 2) + le(UInt64(data.count), 8) + le(UInt64(body.count), 8) + le(UInt64(offset), 8) : []
            let sat: (Int) -> UInt64 = { zip64 ? 0xFFFF_FFFF : UInt64($0) }
            central += le(0x0201_4b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(method, 2) + le(0, 4) + le(UInt64(crc(data)), 4)
                + le(sat(body.count), 4) + le(sat(data.count), 4) + le(UInt64(nameBytes.count), 2) + le(UInt64(extra.count), 2)
                + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(sat(offset), 4) + nameBytes + extra
        }
        let cdOffset = out.count
        out += central
        if zip64 {
            let z = out.count
            out += le(0x0606_4b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(UInt64(members.count), 8)
                + le(UInt64(members.count), 8) + le(UInt64(central.count), 8) + le(UInt64(cdOffset), 8)
            out += le(0x0706_4b50, 4) + le(0, 4) + le(UInt64(z), 8) + le(1, 4)
        }
        out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(zip64 ? 0xFFFF : UInt64(members.count), 2)
            + le(zip64 ? 0xFFFF : UInt64(members.count), 2) + le(UInt64(central.count), 4)
            + le(zip64 ? 0xFFFF_FFFF : UInt64(cdOffset), 4) + le(0, 2)
        return out
    }

    // MARK: PNG

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return le(UInt64(data.count), 4).reversed() + body + le(UInt64(crc(body)), 4).reversed()
    }

    /// A PNG of `rows` (each row's samples, already packed to `bitDepth`; big-endian for 16-bit), filter 0.
    static func png(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8, rows: [[UInt8]],
                    palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
        let ihdr = le(UInt64(width), 4).reversed() + le(UInt64(height), 4).reversed() + [bitDepth, colorType, 0, 0, 0]
        var raw: [UInt8] = []
        for r in rows { raw += [0] + r }
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(UInt(raw.count))))
        var length = UInt(compressed.count)
        compress(&compressed, &length, raw, UInt(raw.count))
        var out: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] + chunk("IHDR", ihdr)
        if let palette { out += chunk("PLTE", palette) }
        if let transparency { out += chunk("tRNS", transparency) }
        return out + chunk("IDAT", Array(compressed[..<Int(length)])) + chunk("IEND", [])
    }

    /// An 8-bit RGB PNG from interleaved pixels.
    static func rgbPNG(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        png(width: width, height: height, colorType: 2, bitDepth: 8,
            rows: (0..<height).map { Array(pixels[($0 * width * 3)..<(($0 + 1) * width * 3)]) })
    }

    /// A solid-colour RGB PNG.
    static func solidPNG(width: Int, height: Int, _ rgb: (UInt8, UInt8, UInt8)) -> [UInt8] {
        rgbPNG(width: width, height: height, pixels: (0..<(width * height)).flatMap { _ in [rgb.0, rgb.1, rgb.2] })
    }

    // MARK: JPEG

    static func jpeg(width: Int, height: Int, components: Int, pixels: [UInt8], quality: Int = 95) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = shears_jpeg_encode(pixels, Int32(width), Int32(height), Int32(components), Int32(quality), &out, &size,
                                        &message, message.count)
        guard status == 0, let out else { throw NSError(domain: "jpeg", code: 1, userInfo: [NSLocalizedDescriptionKey: String(cString: message)]) }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    static func solidJPEG(width: Int, height: Int, _ rgb: (UInt8, UInt8, UInt8)) throws -> [UInt8] {
        try jpeg(width: width, height: height, components: 3, pixels: (0..<(width * height)).flatMap { _ in [rgb.0, rgb.1, rgb.2] })
    }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
