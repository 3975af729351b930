import AtRestTesting
import Foundation
import Testing
import AtRestCrypto

/// `ReplicaScan.find` itself, on sparse files with known content: every
/// encoding is found at its offset, also across the scan's chunk boundaries
/// and in a data extent after a hole, and nothing is found where nothing is.
@Suite struct ReplicaScanTests {
    @Test func findsEveryEncodingAtItsOffsetAndNothingElse() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-scan-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = Array("scan-marker-\(UUID().uuidString)-0123456789abcdefghijkl".utf8.prefix(64))
        let needles = Dictionary(uniqueKeysWithValues: ReplicaScan.needles(marker))
        #expect(needles[.utf16le]?.count == 128 && needles[.utf16le]?[1] == 0)
        #expect(needles[.hexLower] == Array(marker.map { String(format: "%02x", $0) }.joined().utf8))
        #expect(needles[.hexUpper].map { String(decoding: $0, as: UTF8.self) } == marker.map { String(format: "%02X", $0) }.joined())

        // Data at [1 MiB, 21 MiB) and [64 MiB, 64 MiB + 64 KiB), holes elsewhere; the scan reads 8 MiB chunks.
        let first: Int64 = 1 << 20, second: Int64 = 64 << 20
        let expected: [(ReplicaScan.Encoding, Int64)] = [
            (.utf16le, first + 100),
            (.plain, first + (8 << 20) - 30),        // across the first chunk boundary
            (.hexLower, first + (16 << 20) - 127),   // across the second, one byte in the later chunk
            (.hexUpper, second + 5),                 // after a hole
        ]
        let path = directory + "/block"
        let fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o600)
        defer { close(fd) }
        try Self.write(fd, try SecureRandom.bytes(20 << 20), at: first)
        try Self.write(fd, try SecureRandom.bytes(64 << 10), at: second)
        for (encoding, offset) in expected { try Self.write(fd, needles[encoding]!, at: offset) }
        #expect(ftruncate(fd, 2 << 30) == 0)

        let hits = try ReplicaScan.find(marker: marker, in: [path])
        #expect(hits.map { "\($0.encoding)@\($0.offset)" }.sorted() == expected.map { "\($0.0)@\($0.1)" }.sorted())
        #expect(hits.allSatisfy { $0.path == path })
        #expect(try ReplicaScan.find(marker: Array("absent-\(UUID().uuidString)".utf8), in: [path]) == [])
    }

    @Test func blockFilesAreOnePerOSDOrAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-scan-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for id in [1, 0, 10] {
            try FileManager.default.createDirectory(atPath: "\(directory)/osd/\(id)", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(directory)/osd/\(id)/block", contents: Data())
        }
        #expect(try ReplicaScan.blockFiles(cephDirectory: directory) == [0, 1, 10].map { "\(directory)/osd/\($0)/block" })
        try FileManager.default.createDirectory(atPath: "\(directory)/osd/2", withIntermediateDirectories: true)
        let error = #expect(throws: CephDevError.self) { try ReplicaScan.blockFiles(cephDirectory: directory) }
        #expect(error?.message.contains("osd.2 has no block file") == true)
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int64) throws {
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard n == bytes.count else { throw CephDevError(message: "pwrite: errno \(errno)") }
    }
}
