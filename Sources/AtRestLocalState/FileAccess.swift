import Glibc

/// Who may touch a service's local state and the code it loads; every
/// service checks at start-up and refuses to run otherwise
/// (docs/OPERATIONS.md "File permissions").
///
/// - State (keys, sealed state, audit logs, credentials, data directories):
///   nobody but the owner may read or write it. Sealed state is still
///   encrypted, but a writable file lets another user replace or delete it,
///   and a readable one gives them ciphertext to work on at leisure.
/// - Code (key-provider plug-ins and the directory they are loaded from):
///   nobody but root or the owner may write it, or they could run their code
///   inside the vault, next to every key.
///
/// Every refusal names the file and the exact command that fixes it.
public enum FileAccess {
    /// Fails unless only the owner can read or write `path` (file or directory).
    public static func requirePrivate(_ path: String, what: String) throws(LocalStateError) {
        let info = try status(path)
        let mode = info.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw LocalStateError(.insecurePermissions, "\(what) '\(path)' is \(access(mode & 0o077)) by group or others (mode \(octal(mode))); "
                + "fix: chmod \(octal(mode & ~0o077)) '\(path)'")
        }
    }

    /// `requirePrivate` for a data directory and everything in it, down to
    /// `depth` levels of subdirectories (state files, keys, logs).
    public static func requirePrivateTree(_ directory: String, what: String, depth: Int = 2) throws(LocalStateError) {
        try requirePrivate(directory, what: what)
        try requirePrivateEntries(directory, owner: what, depth: depth)
    }

    private static func requirePrivateEntries(_ directory: String, owner: String, depth: Int) throws(LocalStateError) {
        for name in try entries(directory) {
            let path = "\(directory)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }  // removed meanwhile
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try requirePrivate(path, what: "\(owner): directory")
                if depth > 0 { try requirePrivateEntries(path, owner: owner, depth: depth - 1) }
            case S_IFREG:
                try requirePrivate(path, what: "\(owner): file")
            default:
                continue
            }
        }
    }

    /// Fails when `path` (a plug-in or its directory) can be written by
    /// anyone but root and its owner, or belongs to another ordinary user.
    public static func requireTrustedCode(_ path: String, what: String) throws(LocalStateError) {
        let info = try status(path)
        let mode = info.st_mode & 0o7777
        if mode & 0o022 != 0 {
            throw LocalStateError(.insecurePermissions, "\(what) '\(path)' is writable by group or others (mode \(octal(mode))); "
                + "fix: chmod \(octal(mode & ~0o022)) '\(path)'")
        }
        if info.st_uid != 0 && info.st_uid != geteuid() {
            throw LocalStateError(.insecurePermissions, "\(what) '\(path)' belongs to user \(info.st_uid), who can change it; "
                + "fix: chown \(geteuid()) '\(path)' (or root)")
        }
    }

    private static func status(_ path: String) throws(LocalStateError) -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw LocalFile.ioError("inspecting", path) }
        return info
    }

    private static func entries(_ directory: String) throws(LocalStateError) -> [String] {
        guard let names = try LocalFile.list(directory) else { throw LocalStateError(.io, "listing '\(directory)' failed: it does not exist") }
        return names
    }

    private static func access(_ bits: mode_t) -> String {
        let read = bits & 0o044 != 0
        let write = bits & 0o022 != 0
        return read && write ? "readable and writable" : read ? "readable" : write ? "writable" : "accessible"
    }

    private static func octal(_ mode: mode_t) -> String {
        let text = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 3 - text.count)) + text
    }
}
