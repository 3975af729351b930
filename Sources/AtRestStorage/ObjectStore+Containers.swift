import Glibc

/// Containers: a directory per container holding a sealed `container` file
/// whose metadata name is the container's name (so listing can decrypt it).
extension ObjectStore {
    func containerIdentity(_ account: String) -> ObjectIdentity { ObjectIdentity(account: account, container: "", kind: .container) }

    /// Creates the container; `.alreadyExists` if it is there.
    public func createContainer(account: String, name: String, userMetadata: [String: String] = [:], accountKey: AccountKey) throws {
        try Self.validate(name: name)
        let accountDir = try accountPath(account, accountKey)
        let dir = try containerPath(account, name, accountKey)
        guard !FileSystem.exists("\(dir)/container") else {
            throw StorageError(.alreadyExists, "container '\(name)' already exists in account '\(account)'")
        }
        try FileSystem.makeDirectory(accountDir)
        try FileSystem.makeDirectory(dir)
        let upload = try ObjectUpload(file: try atomicFile(in: dir), targetName: "container", accountKey: accountKey,
                                      identity: containerIdentity(account),
                                      metadata: ObjectMetadata(name: name, userMetadata: userMetadata, creationTime: Self.nowMillis()),
                                      expectedHash: nil)
        try upload.finish()
    }

    /// Container names of `account`, sorted, decrypted from their markers.
    public func listContainers(account: String, accountKey: AccountKey) throws -> [String] {
        let accountDir = try accountPath(account, accountKey)
        var names: [String] = []
        for entry in try FileSystem.list(accountDir) where entry.hasPrefix("c-") {
            guard let fd = try FileSystem.openForReading("\(accountDir)/\(entry)/container") else { continue }
            defer { close(fd) }
            let reader = try ObjectReader(source: try FileSource(descriptor: fd), accountKey: accountKey,
                                          context: containerIdentity(account).context)
            guard "c-" + (try accountKey.hashName(["container", reader.metadata.name])) == entry else {
                throw StorageError.integrity("container marker in \(entry) belongs to another container (spliced)")
            }
            names.append(reader.metadata.name)
        }
        return names.sorted()
    }

    /// Deletes an empty container (staged blocks and temp files are dropped with it).
    public func deleteContainer(account: String, name: String, accountKey: AccountKey) throws {
        let dir = try existingContainer(account, name, accountKey)
        let entries = try FileSystem.list(dir)
        guard !entries.contains(where: { $0.hasPrefix("o-") }) else {
            throw StorageError(.invalidArgument, "container '\(name)' is not empty; delete its objects first")
        }
        try FileSystem.remove("\(dir)/container")
        for entry in entries where entry != "container" { try FileSystem.remove("\(dir)/\(entry)") }
        guard rmdir(dir) == 0 else { throw SystemCall.error("rmdir", dir) }
        try FileSystem.syncDirectory(FileSystem.parent(of: dir))
    }
}
