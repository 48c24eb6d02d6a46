import CZlib
import Foundation

/// A read-only zip archive (PKWARE APPNOTE 6.3), as `numpy.savez` / `savez_compressed` write them: members
/// stored or deflated, zip64 records where sizes or offsets exceed 32 bits.
///
/// Members are found through the central directory at the end of the file, not by walking local headers:
/// numpy writes every member with `force_zip64`, so its local headers carry placeholder sizes (0xFFFFFFFF)
/// and only the central directory has the real ones. The local header is read only to skip its name and
/// extra field. Every extracted member's CRC-32 is checked.
struct ZipArchive {
    struct Member {
        let name: String
        let method: UInt16
        let flags: UInt16
        let crc: UInt32
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let path: String
    let bytes: Data
    let members: [Member]

    init(path: String) throws {
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw DataError("\(path): cannot read file: expected a readable .npz (zip) file, found: \(error.localizedDescription)")
        }
        self.path = path
        members = try ZipArchive.centralDirectory(bytes, path: path)
    }

    func member(named name: String) -> Member? { members.first { $0.name == name } }

    /// The uncompressed bytes of `member`, CRC-checked.
    func extract(_ member: Member) throws -> [UInt8] {
        let r = ByteReader(bytes, file: path)
        let o = member.localHeaderOffset
        guard try r.u32(o, "local header of \(member.name)") == 0x0403_4b50 else {
            throw DataError("\(path): corrupt zip file: expected the local header signature 50 4b 03 04 of member \(member.name) at byte \(o)")
        }
        let start = o + 30 + Int(try r.u16(o + 26, "local header")) + Int(try r.u16(o + 28, "local header"))
        guard start + member.compressedSize <= bytes.count else {
            throw DataError("\(path): truncated zip file: member \(member.name) needs bytes \(start)..<\(start + member.compressedSize), the file has \(bytes.count)")
        }
        guard member.flags & 1 == 0 else {
            throw DataError("\(path): member \(member.name) is encrypted: expected an unencrypted archive (numpy.savez writes one)")
        }
        var out: [UInt8]
        switch member.method {
        case 0:
            guard member.compressedSize == member.size else {
                throw DataError("\(path): corrupt zip file: stored member \(member.name) has compressed size \(member.compressedSize) but size \(member.size)")
            }
            out = [UInt8](bytes[(bytes.startIndex + start)..<(bytes.startIndex + start + member.size)])
        case 8:
            out = try inflateRaw(start: start, member: member)
        default:
            throw DataError("\(path): member \(member.name) uses zip compression method \(member.method): expected 0 (stored) or 8 (deflate), what numpy.savez and savez_compressed write")
        }
        let crc = out.withUnsafeBufferPointer { p in ZipArchive.crc32(p) }
        guard crc == member.crc else {
            throw DataError("\(path): corrupt member \(member.name): CRC-32 expected \(String(member.crc, radix: 16)), found \(String(crc, radix: 16))")
        }
        return out
    }

    static func crc32(_ p: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt = CZlib.crc32(0, nil, 0)
        var offset = 0
        while offset < p.count {   // crc32 takes a 32-bit length
            let n = min(p.count - offset, 1 << 30)
            crc = CZlib.crc32(crc, p.baseAddress! + offset, UInt32(n))
            offset += n
        }
        return UInt32(crc)
    }

    private func inflateRaw(start: Int, member: Member) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: member.size)
        let ret: Int32 = try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32 in
            var stream = z_stream()
            // -MAX_WBITS: a raw deflate stream, no zlib or gzip wrapper (zip's own headers replace them).
            guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw DataError("\(path): zlib could not start inflating member \(member.name)")
            }
            defer { inflateEnd(&stream) }
            let input = raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + start
            return out.withUnsafeMutableBufferPointer { o -> Int32 in
                var inPos = 0, ret: Int32 = Z_OK
                stream.next_out = o.baseAddress
                repeat {   // avail_in / avail_out are 32-bit: feed in 1 GiB pieces
                    if stream.avail_in == 0 && inPos < member.compressedSize {
                        let n = min(member.compressedSize - inPos, 1 << 30)
                        stream.next_in = UnsafeMutablePointer(mutating: input + inPos)
                        stream.avail_in = UInt32(n)
                        inPos += n
                    }
                    let produced = o.baseAddress.map { stream.next_out - $0 } ?? 0
                    stream.avail_out = UInt32(min(member.size - produced, 1 << 30))
                    ret = inflate(&stream, Z_NO_FLUSH)
                } while ret == Z_OK   // Z_BUF_ERROR: no progress possible (input ended early, or output full)
                return ret
            }
        }
        guard ret == Z_STREAM_END else {
            let what = ret == Z_OK || ret == Z_BUF_ERROR ? "the deflate stream ends early or does not match the recorded size \(member.size)" : "invalid deflate data (zlib error \(ret))"
            throw DataError("\(path): corrupt member \(member.name): expected \(member.size) bytes of deflate-compressed data, found \(what)")
        }
        return out
    }
}

extension ZipArchive {
    /// Parses the end-of-central-directory record (and its zip64 form) and every central directory entry.
    static func centralDirectory(_ bytes: Data, path: String) throws -> [Member] {
        let r = ByteReader(bytes, file: path)
        guard let eocd = findEndRecord(bytes) else {
            throw DataError("\(path): not a zip (.npz) file or truncated: expected the end-of-central-directory record (50 4b 05 06) in the last 64 KB, found none (\(bytes.count) bytes)")
        }
        var count = Int(try r.u16(eocd + 10, "end record"))
        var offset = Int(try r.u32(eocd + 16, "end record"))
        if eocd >= 20, try r.u32(eocd - 20, "zip64 locator") == 0x0706_4b50 {
            let z = Int(try r.u64(eocd - 12, "zip64 locator"))
            guard try r.u32(z, "zip64 end record") == 0x0606_4b50 else {
                throw DataError("\(path): corrupt zip file: expected the zip64 end record (50 4b 06 06) at byte \(z)")
            }
            count = Int(try r.u64(z + 32, "zip64 end record"))
            offset = Int(try r.u64(z + 48, "zip64 end record"))
        }
        var members: [Member] = []
        var p = offset
        for k in 0..<count {
            guard try r.u32(p, "central directory") == 0x0201_4b50 else {
                throw DataError("\(path): corrupt zip file: expected central directory entry \(k) of \(count) (50 4b 01 02) at byte \(p)")
            }
            let nameLength = Int(try r.u16(p + 28, "central directory")), extraLength = Int(try r.u16(p + 30, "central directory"))
            let commentLength = Int(try r.u16(p + 32, "central directory"))
            let name = String(decoding: try r.slice(p + 46, nameLength, "member name"), as: UTF8.self)
            var csize = UInt64(try r.u32(p + 20, "central directory")), size = UInt64(try r.u32(p + 24, "central directory"))
            var local = UInt64(try r.u32(p + 42, "central directory"))
            try zip64Extra(r, at: p + 46 + nameLength, length: extraLength, size: &size, compressed: &csize, offset: &local)
            members.append(Member(name: name, method: try r.u16(p + 10, "central directory"), flags: try r.u16(p + 8, "central directory"),
                                  crc: try r.u32(p + 16, "central directory"), compressedSize: Int(csize), size: Int(size),
                                  localHeaderOffset: Int(local)))
            p += 46 + nameLength + extraLength + commentLength
        }
        return members
    }

    /// The EOCD signature searched backwards over the 22-byte record plus at most a 65,535-byte comment.
    private static func findEndRecord(_ bytes: Data) -> Int? {
        guard bytes.count >= 22 else { return nil }
        let lowest = max(0, bytes.count - 22 - 65_535)
        return bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int? in
            let b = raw.bindMemory(to: UInt8.self)
            var i = bytes.count - 22
            while i >= lowest {
                if b[i] == 0x50 && b[i + 1] == 0x4b && b[i + 2] == 0x05 && b[i + 3] == 0x06 { return i }
                i -= 1
            }
            return nil
        }
    }

    /// The zip64 extended-information extra field (id 1): 64-bit values for exactly the fields saturated at
    /// 0xFFFFFFFF, in the order size, compressed size, local header offset.
    private static func zip64Extra(_ r: ByteReader, at start: Int, length: Int, size: inout UInt64,
                                   compressed: inout UInt64, offset: inout UInt64) throws {
        var p = start
        while p + 4 <= start + length {
            let id = try r.u16(p, "extra field"), n = Int(try r.u16(p + 2, "extra field"))
            if id == 1 {
                var q = p + 4
                for field in [0, 1, 2] {
                    let saturated = [size, compressed, offset][field] == 0xFFFF_FFFF
                    guard saturated, q + 8 <= p + 4 + n else { continue }
                    let v = try r.u64(q, "zip64 extra field")
                    if field == 0 { size = v } else if field == 1 { compressed = v } else { offset = v }
                    q += 8
                }
            }
            p += 4 + n
        }
    }
}

/// Little-endian reads with bounds checks that name the file and the structure being read.
struct ByteReader {
    let bytes: Data
    let file: String

    init(_ bytes: Data, file: String) {
        self.bytes = bytes
        self.file = file
    }

    private func check(_ offset: Int, _ n: Int, _ what: String) throws {
        guard offset >= 0 && offset + n <= bytes.count else {
            throw DataError("\(file): truncated or corrupt file: the \(what) needs bytes \(offset)..<\(offset + n), the file has \(bytes.count)")
        }
    }

    func u16(_ o: Int, _ what: String) throws -> UInt16 {
        try check(o, 2, what)
        let s = bytes.startIndex + o
        return UInt16(bytes[s]) | UInt16(bytes[s + 1]) << 8
    }

    func u32(_ o: Int, _ what: String) throws -> UInt32 {
        UInt32(try u16(o, what)) | UInt32(try u16(o + 2, what)) << 16
    }

    func u64(_ o: Int, _ what: String) throws -> UInt64 {
        UInt64(try u32(o, what)) | UInt64(try u32(o + 4, what)) << 32
    }

    func slice(_ o: Int, _ n: Int, _ what: String) throws -> [UInt8] {
        try check(o, n, what)
        return [UInt8](bytes[(bytes.startIndex + o)..<(bytes.startIndex + o + n)])
    }
}
