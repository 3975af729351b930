import AtRestNBD
import Foundation
import Synchronization

/// TEST-ONLY: an `NBDExport` over a real temporary file, so the protocol
/// layer (`NBDServer`) can be tested against real NBD clients on its own.
/// It stands in for AtRest disks only in these protocol tests; the gateway
/// over AtRest disks (`atrest-nbd`, `DiskClient`) is tested end to end in
/// IntegrationTests. TRIM writes zeros, so trimmed ranges read back as
/// zeros like a disk's released chunks.
final class FileExport: NBDExport {
    let name: String
    let path: String
    let minimumBlockSize: UInt32
    private let fileSize: UInt64
    private let file: Mutex<FileHandle>

    /// A zero-filled file of `size` bytes at `path`.
    init(name: String, path: String, size: UInt64, minimumBlockSize: UInt32 = 512) throws {
        self.name = name
        self.path = path
        self.minimumBlockSize = minimumBlockSize
        fileSize = size
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: size)
        file = Mutex(handle)
    }

    var size: UInt64 { fileSize }
    var canMultiConn: Bool { true }  // one file, one descriptor: FLUSH syncs what every connection wrote

    func read(offset: UInt64, length: Int) async throws -> [UInt8] {
        try file.withLock { file in
            try file.seek(toOffset: offset)
            return [UInt8](try file.read(upToCount: length) ?? Data())
        }
    }

    func write(offset: UInt64, data: [UInt8]) async throws {
        try file.withLock { file in
            try file.seek(toOffset: offset)
            try file.write(contentsOf: data)
        }
    }

    func flush() async throws { try file.withLock { try $0.synchronize() } }

    func trim(offset: UInt64, length: UInt64) async throws { try await writeZeroes(offset: offset, length: length) }

    func writeZeroes(offset: UInt64, length: UInt64) async throws {
        var done: UInt64 = 0
        while done < length {
            let piece = min(length - done, 1 << 20)
            try await write(offset: offset + done, data: [UInt8](repeating: 0, count: Int(piece)))
            done += piece
        }
    }

    func close() { file.withLock { try? $0.close() } }
}
