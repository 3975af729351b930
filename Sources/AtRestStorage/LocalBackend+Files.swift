import Glibc

/// A `LocalBackend` put: an `AtomicFile` in the container, published by
/// `commit` with the put's condition under the container lock.
///
/// Unchecked: `BackendUpload`'s contract is one task at a time, and each
/// call's file work runs on `BlockingIO` while that task awaits it.
final class LocalUpload: BackendUpload, @unchecked Sendable {
    private let backend: LocalBackend
    private let name: BackendName
    private let condition: WriteCondition
    /// nil once committed or aborted (an upload dropped unfinished is
    /// aborted by `AtomicFile`'s deinit).
    private var file: AtomicFile?

    init(backend: LocalBackend, name: BackendName, condition: WriteCondition, file: AtomicFile) {
        self.backend = backend
        self.name = name
        self.condition = condition
        self.file = file
    }

    /// The file, taken: later calls find the upload finished.
    private func take() throws -> AtomicFile {
        guard let file else { throw StorageError(.invalidArgument, "upload of \(name) was already committed or aborted") }
        self.file = nil
        return file
    }

    func append(_ bytes: [UInt8]) async throws {
        try await BlockingIO.run { [self] in
            guard let file else { throw StorageError(.invalidArgument, "upload of \(name) was already committed or aborted") }
            try bytes.withUnsafeBytes { try file.append($0) }
        }
    }

    /// Buffers at least this large, written first, go around the page cache.
    static let wholeWriteThreshold = 1 << 20

    /// A first buffer of at least `LocalUpload.wholeWriteThreshold` bytes
    /// goes to the file in one `O_DIRECT` write (`AtomicFile.writeWhole`:
    /// why), anything else through the file's gathered writes.
    func append(_ buffer: AlignedBuffer) async throws {
        try await BlockingIO.run { [self] in
            guard let file else { throw StorageError(.invalidArgument, "upload of \(name) was already committed or aborted") }
            if file.isEmpty && buffer.count >= Self.wholeWriteThreshold {
                _ = try buffer.withUnsafeBytes { try file.writeWhole($0) }
            } else {
                try buffer.withUnsafeBytes { try file.append($0) }
            }
        }
    }

    /// Durable, switched into place and the switch durable, in a group
    /// commit with the store's other puts (`FileCommits`).
    func commit() async throws -> BackendVersion {
        let file = try take()
        let started = StorageObservation.isActive ? ContinuousClock.now : nil
        defer { if let started { StorageObservation.report(.write, ContinuousClock.now - started) } }
        let directory = file.directory
        return try await backend.commits.commit(file) { [self] temp in
            var swapped = false
            let version = try backend.withContainerLock(directory) { try publish(temp, as: backend.path(name), swapped: &swapped) }
            return FileCommits.Published(version: version, replaced: swapped)
        }
    }

    /// The atomic switch, under the container lock: the condition, then the
    /// exchange with the old file (or rename, or link).
    private func publish(_ temp: String, as target: String, swapped: inout Bool) throws -> BackendVersion {
        switch condition {
        case .none:
            break
        case .mustNotExist:
            guard link(temp, target) == 0 else {
                if errno == EEXIST { throw StorageError(.conditionFailed, "backend object \(name) already exists; nothing was written") }
                throw SystemCall.error("link", target)
            }
            _ = unlink(temp)
            return try version(target)
        case .mustMatch(let expected):
            guard try LocalBackend.currentInfo(target)?.version == expected else {
                throw StorageError(.conditionFailed, "backend object \(name) is not at the expected version; nothing was written")
            }
        }
        if LinuxFileCalls.exchange(temp, target) {
            swapped = true
        } else {
            guard rename(temp, target) == 0 else { throw SystemCall.error("rename", target) }
        }
        return try version(target)
    }

    private func version(_ target: String) throws -> BackendVersion {
        guard let info = try LocalBackend.currentInfo(target) else { throw SystemCall.error("stat", target) }
        return info.version
    }

    func abort() async {
        _ = try? await BlockingIO.run { [self] in try take().abort() }
    }
}

/// An open version of a `LocalBackend` object: the descriptor (share-locked,
/// `FileSystem.openForReading`) pins the inode, so reads keep returning the
/// version that was opened even after it is replaced.
final class LocalObject: BackendObject {
    let info: BackendObjectInfo
    private let descriptor: Int32
    private let path: String

    init(descriptor: Int32, info: BackendObjectInfo, path: String) {
        self.descriptor = descriptor
        self.info = info
        self.path = path
    }

    deinit { close(descriptor) }

    func read(at offset: UInt64, count: Int) async throws -> [UInt8] {
        guard count >= 0, offset <= info.size, UInt64(count) <= info.size - offset else {
            throw StorageError(.invalidArgument, "range \(offset)..<\(offset + UInt64(max(count, 0))) is outside the object (size \(info.size))")
        }
        return try await BlockingIO.run { [self] in
            // Not zeroed first: the read fills it (a short read fails below),
            // and zeroing was a whole extra pass over every get's bytes.
            try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                let read = try FileSystem.readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer), at: offset, path: path)
                initialized = read
                guard read == count else { throw StorageError(.io, "'\(path)' ended early at \(offset + UInt64(read)) of \(info.size) bytes") }
            }
        }
    }
}
