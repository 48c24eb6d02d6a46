import CZlib
import Foundation

/// In-memory gunzip on zlib's `inflate` (RFC 1952, the format `gzip` writes and MNIST ships in).
///
/// zlib's `gzread` would also work, but it silently reads non-gzip input as raw bytes and reports a truncated
/// stream only through a later `gzerror` call; driving `inflate` directly lets every failure become a
/// `DataError` that says which file, what zlib expected and what it found. Concatenated members (what
/// `cat a.gz b.gz` produces, and valid gzip) are decompressed one after another, as `gzip -d` does.
enum Gzip {
    /// The two bytes every gzip member starts with.
    static let magic: (UInt8, UInt8) = (0x1f, 0x8b)

    static func decompress(_ data: Data, file: String) throws -> [UInt8] {
        guard data.count >= 2 else {
            throw DataError("\(file): not a gzip file: expected at least the 2-byte gzip header 1f 8b, found \(data.count) byte(s)")
        }
        let (b0, b1) = (data[data.startIndex], data[data.startIndex + 1])
        guard b0 == magic.0 && b1 == magic.1 else {
            throw DataError("\(file): not a gzip file: expected magic bytes 1f 8b, found \(hex(b0)) \(hex(b1))")
        }
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [UInt8] in
            try inflateMembers(raw.bindMemory(to: UInt8.self), file: file)
        }
    }

    private static func hex(_ b: UInt8) -> String { String(format: "%02x", b) }

    private static func inflateMembers(_ input: UnsafeBufferPointer<UInt8>, file: String) throws -> [UInt8] {
        // The gzip trailer's ISIZE (uncompressed size mod 2^32) of the last member is a good capacity hint.
        var out = [UInt8]()
        if input.count >= 18 {
            let n = input.count
            let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
            out.reserveCapacity(min(isize, 1 << 31))
        }
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var memberStart = 0
        while memberStart < input.count {
            var stream = z_stream()
            // 16 + MAX_WBITS: expect a gzip header and trailer (CRC-32 and length are checked by zlib).
            var ret = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard ret == Z_OK else { throw DataError("\(file): zlib could not start inflating (error \(ret))") }
            defer { inflateEnd(&stream) }
            var position = memberStart   // next input byte not yet handed to zlib
            repeat {
                // avail_in is 32 bits wide: feed large inputs in 1 GiB pieces.
                if stream.avail_in == 0 && position < input.count {
                    let n = min(input.count - position, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + position)
                    stream.avail_in = UInt32(n)
                    position += n
                }
                ret = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    stream.next_out = b.baseAddress
                    stream.avail_out = UInt32(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                if produced > 0 { out.append(contentsOf: buffer[0..<produced]) }
                switch ret {
                case Z_OK, Z_STREAM_END:
                    break
                case Z_BUF_ERROR where stream.avail_in == 0 && position >= input.count:
                    throw DataError("\(file): truncated gzip file: expected more compressed data, found the end of the file after \(out.count) decompressed bytes")
                case Z_BUF_ERROR:
                    continue   // no progress possible this call only because the output chunk was full
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(ret)"
                    throw DataError("\(file): corrupt gzip data: expected a valid deflate stream, found: \(reason) (after \(out.count) decompressed bytes)")
                }
            } while ret != Z_STREAM_END
            memberStart = position - Int(stream.avail_in)
            // What follows a member must be another member; gzip tolerates zero padding, and so do we.
            let rest = UnsafeBufferPointer(rebasing: input[memberStart...])
            if rest.allSatisfy({ $0 == 0 }) { break }
            guard rest.count >= 2 && rest[0] == magic.0 && rest[1] == magic.1 else {
                throw DataError("\(file): corrupt gzip file: expected end of file or another gzip member after byte \(memberStart), found \(rest.count) trailing byte(s) starting \(rest.prefix(4).map(hex).joined(separator: " "))")
            }
        }
        return out
    }
}
