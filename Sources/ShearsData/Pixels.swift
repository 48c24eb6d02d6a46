import Foundation
import ShearsTensor

/// Byte pixels → float32 in [0, 1], the conversion every reader shares.
enum Pixels {
    /// `Float(b) / 255` for every byte value: a table lookup is exact (same bits as the division) and keeps
    /// the conversion of 47 million MNIST pixels fast even in debug builds.
    static let table: [Float] = (0..<256).map { Float($0) / 255 }

    /// Converts `count` bytes starting at `source` into `destination`.
    @inline(__always)
    static func convert(_ source: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        table.withUnsafeBufferPointer { buffer in
            let t = buffer.baseAddress!
            for i in 0..<count { destination[i] = t[Int(source[i])] }
        }
    }
}

/// Big-endian integers, as IDX headers store them.
extension Array where Element == UInt8 {
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
