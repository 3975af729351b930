import AtRestTesting
import Foundation

/// Looks for a marker in the raw bytes of files: the OSDs' bluestore block
/// files of a ceph-dev cluster, to show what each replica holds on disk.
/// A marker is searched as its plain bytes, as UTF-16LE (each byte widened
/// to a 16-bit unit: the UTF-16LE form of an ASCII or Latin-1 marker), and as
/// lowercase and uppercase hex. Only the files' data extents are read
/// (SEEK_DATA/SEEK_HOLE), so a sparse 2 GiB block file costs what it holds.
enum ReplicaScan {
    enum Encoding: String, CaseIterable, Sendable { case plain, utf16le, hexLower, hexUpper }

    struct Hit: Equatable, Sendable, CustomStringConvertible {
        var path: String
        var encoding: Encoding
        var offset: Int64
        var description: String { "\(encoding) at \(path):\(offset)" }
    }

    /// The block file of every OSD of the ceph-dev cluster in `cephDirectory`,
    /// by OSD id; throws when an OSD has none (it is not bluestore).
    static func blockFiles(cephDirectory: String) throws -> [String] {
        let osdRoot = cephDirectory + "/osd"
        let ids = try FileManager.default.contentsOfDirectory(atPath: osdRoot).compactMap(Int.init).sorted()
        guard !ids.isEmpty else { throw CephDevError(message: "no OSD directories under \(osdRoot)") }
        return try ids.map { id in
            let block = "\(osdRoot)/\(id)/block"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: block, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw CephDevError(message: "osd.\(id) has no block file \(block) (not a bluestore OSD?)")
            }
            return block
        }
    }

    /// The byte sequences searched for `marker`, one per encoding.
    static func needles(_ marker: [UInt8]) -> [(Encoding, [UInt8])] {
        let lower = Array(marker.map { String(format: "%02x", $0) }.joined().utf8)
        let upper = Array(marker.map { String(format: "%02X", $0) }.joined().utf8)
        return [(.plain, marker), (.utf16le, marker.flatMap { [$0, 0] }), (.hexLower, lower), (.hexUpper, upper)]
    }

    /// Every occurrence of `marker`, in any encoding, in the files at `paths`.
    static func find(marker: [UInt8], in paths: [String]) throws -> [Hit] {
        precondition(!marker.isEmpty, "an empty marker matches everywhere")
        let needles = needles(marker)
        return try paths.flatMap { try find(needles, in: $0) }
    }

    /// Linux' lseek whences for sparse files (Swift's Glibc module does not export them).
    private static let seekData: Int32 = 3, seekHole: Int32 = 4
    private static let chunk = 8 << 20

    private static func find(_ needles: [(Encoding, [UInt8])], in path: String) throws -> [Hit] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CephDevError(message: "open \(path): errno \(errno)") }
        defer { close(fd) }
        let overlap = needles.map(\.1.count).max()! - 1
        var hits: [Hit] = []
        var buffer = [UInt8](repeating: 0, count: overlap + chunk)
        var position: off_t = 0
        // Each data extent, read in chunks; the last `overlap` bytes of a chunk
        // are searched again with the next, so a match across chunks is found
        // (once: a match needs at least one byte the previous search lacked).
        while true {
            let start = lseek(fd, position, seekData)
            if start < 0 { break }  // ENXIO: no data after `position`
            let end = lseek(fd, start, seekHole)
            guard end > start else { throw CephDevError(message: "SEEK_HOLE \(path) at \(start): errno \(errno)") }
            var carried = 0
            var offset = start
            while offset < end {
                let want = Int(min(off_t(chunk), end - offset))
                let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + carried, want, offset) }
                guard count > 0 else { throw CephDevError(message: "read \(path) at \(offset): errno \(errno)") }
                let base = offset - off_t(carried)
                let filled = carried + count
                for (encoding, needle) in needles {
                    for at in occurrences(of: needle, in: buffer, count: filled) {
                        hits.append(Hit(path: path, encoding: encoding, offset: Int64(base) + Int64(at)))
                    }
                }
                carried = min(overlap, filled)
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + (filled - carried), carried)
                }
                offset += off_t(count)
            }
            position = end
        }
        return hits
    }

    /// Start indexes of `needle` in the first `count` bytes of `haystack`.
    private static func occurrences(of needle: [UInt8], in haystack: [UInt8], count: Int) -> [Int] {
        guard count >= needle.count else { return [] }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                var found: [Int] = []
                let last = count - needle.count
                var i = 0
                while i <= last {
                    guard let p = memchr(hay.baseAddress! + i, Int32(pin[0]), last - i + 1) else { break }
                    i = hay.baseAddress!.distance(to: UnsafeRawPointer(p))
                    if memcmp(hay.baseAddress! + i, pin.baseAddress!, needle.count) == 0 { found.append(i) }
                    i += 1
                }
                return found
            }
        }
    }
}
