import AtRestLocalState
import Glibc

/// Random-access bytes of a sealed object: a file or a buffer.
public protocol ObjectSource {
    var size: UInt64 { get }
    /// Calls `body` with exactly `count` bytes at `offset`. A file reads them
    /// into `scratch` (≥ count); a buffer passes its own memory (no copy).
    func withBytes<R>(at offset: UInt64, count: Int, scratch: UnsafeMutableRawBufferPointer,
                      _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
}

extension ObjectSource {
    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { scratch in
            try withBytes(at: offset, count: count, scratch: scratch) { bytes in
                if bytes.baseAddress != UnsafeRawPointer(scratch.baseAddress) { scratch.copyMemory(from: bytes) }
            }
        }
        return out
    }
}

/// A sealed object held in memory.
public struct BufferSource: ObjectSource {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var size: UInt64 { UInt64(bytes.count) }

    public func withBytes<R>(at offset: UInt64, count: Int, scratch: UnsafeMutableRawBufferPointer,
                             _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard offset + UInt64(count) <= size else { throw StorageError.integrity("object ends early") }
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<(Int(offset) + count)])) }
    }
}

/// A sealed object in an open file, read with `pread` (the descriptor is not owned).
public struct FileSource: ObjectSource {
    public let descriptor: Int32
    public let size: UInt64

    public init(descriptor: Int32) throws {
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { throw SystemCall.error("fstat") }
        self.descriptor = descriptor
        size = UInt64(st.st_size)
    }

    public func withBytes<R>(at offset: UInt64, count: Int, scratch: UnsafeMutableRawBufferPointer,
                             _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard offset + UInt64(count) <= size else { throw StorageError.integrity("object ends early") }
        let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
        guard try FileSystem.readFully(descriptor, into: target, at: offset, path: "object file") == count else {
            throw StorageError.integrity("object ends early")
        }
        return try body(UnsafeRawBufferPointer(target))
    }
}

/// errno → `StorageError(.io)`, and EINTR retries, in one place.
enum SystemCall {
    static func error(_ call: String, _ path: String? = nil) -> StorageError {
        let code = errno
        let text = String(cString: strerror(code))
        return StorageError(.io, "\(call)\(path.map { " '\($0)'" } ?? "") failed: \(text) (errno \(code))")
    }

    /// `LocalFile.retrying`, failing with the store's error (call name and errno).
    @discardableResult
    static func retrying(_ call: String, _ path: String? = nil, _ body: () -> Int32) throws -> Int32 {
        do { return try LocalFile.retrying(call, path ?? "", body) } catch { throw self.error(call, path) }
    }
}
