import AtRestLocalState
import AtRestWire
import Dispatch
import Glibc

/// A local file for uploads and downloads (of blobs and disks). Every read and write runs on a
/// dispatch queue, never on the cooperative pool (2 threads here).
final class BlobFile: @unchecked Sendable {
    private let fd: Int32
    let path: String
    private static let queue = DispatchQueue(label: "atrest.client.file", attributes: .concurrent)

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    static func openForReading(_ path: String) throws -> BlobFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RPCStatus(.invalidArgument, "cannot open '\(path)': \(String(cString: strerror(errno)))") }
        return BlobFile(fd: fd, path: path)
    }

    static func create(_ path: String) throws -> BlobFile {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RPCStatus(.invalidArgument, "cannot create '\(path)': \(String(cString: strerror(errno)))") }
        return BlobFile(fd: fd, path: path)
    }

    var size: UInt64 {
        get throws {
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw RPCStatus(.internal, "cannot stat '\(path)'") }
            return UInt64(info.st_size)
        }
    }

    func read(at offset: UInt64, count: Int) async throws -> [UInt8] {
        try await Self.offPool { [self] in
            var bytes = [UInt8](repeating: 0, count: count)
            let done = try bytes.withUnsafeMutableBytes { buffer in
                try Self.local { () throws(LocalStateError) in try LocalFile.readFully(fd, into: buffer, at: Int(offset), path: path) }
            }
            guard done == count else { throw RPCStatus(.internal, "cannot read '\(path)' at \(offset + UInt64(done)) (file shrank?)") }
            return bytes
        }
    }

    func write(_ part: PayloadPart, at offset: UInt64) async throws {
        try await Self.offPool { [self] in
            try part.withUnsafeBytes { bytes in
                try Self.local { () throws(LocalStateError) in try LocalFile.writeAll(fd, raw: bytes, at: Int(offset), path: path) }
            }
        }
    }

    /// Sets the file's length (a longer file reads as zeros where nothing
    /// was written, and holds no blocks there: a sparse file).
    func setLength(_ length: UInt64) async throws {
        try await Self.offPool { [self] in
            guard ftruncate(fd, off_t(length)) == 0 else {
                throw RPCStatus(.internal, "cannot set the length of '\(path)': \(String(cString: strerror(errno)))")
            }
        }
    }

    func sync() async throws {
        try await Self.offPool { [self] in
            guard fsync(fd) == 0 else { throw RPCStatus(.internal, "cannot fsync '\(path)'") }
        }
    }

    func close() { Glibc.close(fd) }

    /// A `LocalFile` call with its error as the client's INTERNAL (naming the path).
    private static func local<T>(_ body: () throws(LocalStateError) -> T) throws(RPCStatus) -> T {
        do { return try body() } catch { throw RPCStatus(.internal, error.message) }
    }

    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
