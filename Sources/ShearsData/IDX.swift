import Foundation

/// The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS").
///
/// A big-endian int32 magic number whose bytes are 0, 0, the element type (0x08 = unsigned byte) and the
/// number of dimensions; then one big-endian int32 per dimension; then the elements, row-major. Images are
/// magic 2051 (0x00000803: ubyte, 3 dims: count, rows, cols) and labels 2049 (0x00000801: ubyte, 1 dim).
/// Readers check the magic, then that the file holds exactly the bytes its header promises, so a truncated
/// download or a swapped file is reported instead of read as garbage.
enum IDX {
    static let imageMagic: UInt32 = 2051
    static let labelMagic: UInt32 = 2049

    /// An IDX3 image file: the raw bytes and where the pixels start.
    struct Images {
        let bytes: [UInt8]
        let count: Int, rows: Int, cols: Int
        static let headerSize = 16
    }

    static func readImages(_ path: String) throws -> Images {
        let bytes = try FileBytes.read(path)
        try checkMagic(bytes, expected: imageMagic, headerSize: Images.headerSize, path: path, what: "images")
        let count = Int(bytes.bigEndianUInt32(at: 4))
        let rows = Int(bytes.bigEndianUInt32(at: 8)), cols = Int(bytes.bigEndianUInt32(at: 12))
        guard rows > 0 && cols > 0 else {
            throw DataError("\(path): IDX image header gives a \(rows)x\(cols) image size; expected positive rows and columns")
        }
        // Header fields are up to 2^32 − 1 each, so their product can overflow Int: check before trusting it.
        let (perImage, o1) = rows.multipliedReportingOverflow(by: cols)
        let (pixels, o2) = perImage.multipliedReportingOverflow(by: count)
        let (expected, o3) = pixels.addingReportingOverflow(Images.headerSize)
        guard !o1 && !o2 && !o3 && bytes.count == expected else {
            let what = bytes.count < expected || o1 || o2 || o3 ? "truncated IDX image file" : "IDX image file has trailing bytes"
            throw DataError("\(path): \(what): header says \(count) images of \(rows)x\(cols) pixels, expected \(o1 || o2 || o3 ? "an impossible size" : "\(expected) bytes") (16-byte header + pixels), found \(bytes.count) bytes")
        }
        return Images(bytes: bytes, count: count, rows: rows, cols: cols)
    }

    /// An IDX1 label file: one byte per label.
    static func readLabels(_ path: String) throws -> [UInt8] {
        let bytes = try FileBytes.read(path)
        try checkMagic(bytes, expected: labelMagic, headerSize: 8, path: path, what: "labels")
        let count = Int(bytes.bigEndianUInt32(at: 4))
        guard bytes.count == 8 + count else {
            let what = bytes.count < 8 + count ? "truncated IDX label file" : "IDX label file has trailing bytes"
            throw DataError("\(path): \(what): header says \(count) labels, expected \(8 + count) bytes (8-byte header + 1 byte per label), found \(bytes.count) bytes")
        }
        return Array(bytes[8...])
    }

    private static func checkMagic(_ bytes: [UInt8], expected: UInt32, headerSize: Int, path: String, what: String) throws {
        guard bytes.count >= headerSize else {
            throw DataError("\(path): truncated IDX \(what) file: expected a \(headerSize)-byte header, found only \(bytes.count) bytes")
        }
        let magic = bytes.bigEndianUInt32(at: 0)
        guard magic == expected else {
            var hint = ""
            if magic == imageMagic || magic == labelMagic {
                hint = " (\(magic) is the magic of an IDX \(magic == imageMagic ? "image" : "label") file: are the image and label files swapped?)"
            } else if bytes[0] == Gzip.magic.0 && bytes[1] == Gzip.magic.1 {
                hint = " (the file is gzip data: give it a .gz suffix or decompress it)"
            }
            throw DataError("\(path): wrong IDX magic number for \(what): expected \(expected), found \(magic)\(hint)")
        }
    }
}
