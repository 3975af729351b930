import Glibc

/// Writes recovered plaintext under `DIR/<account>/<container>/<name>`,
/// each component %-encoded (every byte outside `A-Z a-z 0-9 - _ .`, and a
/// leading "."), so no name can leave the directory or collide with
/// another. Refuses a directory inside the data it reads.
struct Extractor: Sendable {
    let directory: String

    init(directory: String, dataDirectories: [String]) throws {
        // Checked before anything is created: the parent must exist already.
        let trimmed = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        let slash = trimmed.lastIndex(of: "/")
        let parent = slash.map { $0 == trimmed.startIndex ? "/" : String(trimmed[..<$0]) } ?? "."
        let leaf = slash.map { String(trimmed[trimmed.index(after: $0)...]) } ?? trimmed
        guard let resolvedParent = Self.realPath(parent), !leaf.isEmpty, leaf != ".", leaf != ".." else {
            throw RecoveryRefusal("the extract directory '\(directory)' needs an existing parent directory")
        }
        let target = (resolvedParent == "/" ? "" : resolvedParent) + "/" + leaf
        for data in dataDirectories {
            if let source = Self.realPath(data), target == source || target.hasPrefix(source + "/") {
                throw RecoveryRefusal("the extract directory '\(directory)' is inside the data directory '\(data)'; recovery never writes into the data")
            }
        }
        try Self.makeDirectory(target)
        self.directory = target
    }

    /// A new file for one blob (an existing file is an error: nothing is overwritten).
    func create(account: String, container: String, name: String) throws -> ExtractedFile {
        try create([Self.encode(account), Self.encode(container)], Self.encode(name))
    }

    /// A new file for one queue message, `DIR/<account>/.queues/<queue>/<message id>`:
    /// an encoded container name never starts with ".", so the two never meet.
    func createMessage(account: String, queue: String, id: String) throws -> ExtractedFile {
        try create([Self.encode(account), ".queues", Self.encode(queue)], Self.encode(id))
    }

    /// A new file for one table, `DIR/<account>/.tables/<table>.jsonl`.
    func createTable(account: String, table: String) throws -> ExtractedFile {
        try create([Self.encode(account), ".tables"], Self.encode(table) + ".jsonl")
    }

    /// A new sparse file of `size` bytes for one disk, `DIR/<account>/.disks/<disk>.img`.
    func createDisk(account: String, disk: String, size: UInt64) throws -> ExtractedFile {
        let file = try create([Self.encode(account), ".disks"], Self.encode(disk) + ".img")
        guard ftruncate(file.fd, off_t(size)) == 0 else {
            throw RecoveryRefusal("cannot size '\(file.path)' to \(size) bytes: \(String(cString: strerror(errno)))")
        }
        return file
    }

    /// The directory a share's tree is exported to, `DIR/<account>/.files/<share>`
    /// (an existing one is an error: nothing is overwritten).
    func createShare(account: String, share: String) throws -> String {
        var path = directory
        for component in [Self.encode(account), ".files"] {
            path += "/" + component
            try Self.makeDirectory(path)
        }
        path += "/" + Self.encode(share)
        guard mkdir(path, 0o700) == 0 else { throw RecoveryRefusal("cannot create directory '\(path)': \(String(cString: strerror(errno)))") }
        return path
    }

    /// A directory of a share's tree under `root`. Its names as stored: a
    /// valid name (1-255 bytes, no "/", NUL, "." or "..", checked by the
    /// walk) is a file name that stays inside `root`.
    static func makeTreeDirectory(_ root: String, _ path: [String]) throws -> String {
        let full = root + "/" + path.joined(separator: "/")
        try makeDirectory(full)
        return full
    }

    /// A new sparse file of `size` bytes of a share's tree under `root`.
    static func createTreeFile(_ root: String, _ path: [String], size: UInt64) throws -> ExtractedFile {
        let full = root + "/" + path.joined(separator: "/")
        let fd = Glibc.open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw RecoveryRefusal("cannot create '\(full)': \(String(cString: strerror(errno)))") }
        let file = ExtractedFile(fd: fd, path: full)
        guard ftruncate(fd, off_t(size)) == 0 else {
            file.discard()
            throw RecoveryRefusal("cannot size '\(full)' to \(size) bytes: \(String(cString: strerror(errno)))")
        }
        return file
    }

    /// Sets the permission bits (0o777: set-id and sticky bits are not
    /// restored, the output is written by whoever runs the tool) and the
    /// mtime (milliseconds; atime set to it) of an exported file or directory.
    static func stamp(_ path: String, mode: UInt32, mtimeMs: Int64) throws {
        let seconds = mtimeMs.dividedRoundingDown(by: 1000)
        let time = timespec(tv_sec: Int(seconds), tv_nsec: Int(mtimeMs - seconds * 1000) * 1_000_000)
        var times = [time, time]  // atime as mtime: the tree stores no atime
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0, chmod(path, mode_t(mode & 0o777)) == 0 else {
            throw RecoveryRefusal("cannot set the mode or mtime of '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    private func create(_ directories: [String], _ name: String) throws -> ExtractedFile {
        var path = directory
        for component in directories {
            path += "/" + component
            try Self.makeDirectory(path)
        }
        path += "/" + name
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RecoveryRefusal("cannot create '\(path)': \(String(cString: strerror(errno)))") }
        return ExtractedFile(fd: fd, path: path)
    }

    static func encode(_ component: String) -> String {
        var out = ""
        for (index, byte) in component.utf8.enumerated() {
            let plain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2d || byte == 0x5f || (byte == 0x2e && index > 0)
            out += plain ? String(UnicodeScalar(byte)) : "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        }
        return out
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw RecoveryRefusal("cannot create directory '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// One blob's, message's, table's or disk's output file.
final class ExtractedFile {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw RecoveryRefusal("writing '\(path)' failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Writes `bytes` at `offset` (a disk's chunk), leaving the rest as it is.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw RecoveryRefusal("writing '\(path)' failed: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    func finish() throws {
        guard fsync(fd) == 0 else { throw RecoveryRefusal("fsync of '\(path)' failed: \(String(cString: strerror(errno)))") }
    }

    func discard() { unlink(path) }
}

private extension Int64 {
    func dividedRoundingDown(by divisor: Int64) -> Int64 { self >= 0 ? self / divisor : -((-self + divisor - 1) / divisor) }
}

private extension String {
    func leftPadded(to count: Int) -> String { String(repeating: "0", count: max(0, count - self.count)) + self }
}
