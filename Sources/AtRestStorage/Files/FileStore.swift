import AtRestCrypto

/// File shares (a tree of directories and files with random-access data)
/// on a `StorageBackend`'s record maps, sealed under the account's key
/// chain (docs/FORMAT.md "Files").
///
/// - The account's share directory is the record map `a-<account hash>` /
///   `shares`: one record per share, key `s-<H("share", account, name)>`,
///   value the sealed `ShareRecord` (random share id, quota, creation
///   time, name, metadata).
/// - A share's tree is the record map `fs-<share id>`: one `InodeRecord`
///   per file or directory (`n-<inode id>`), one `EntryRecord` per name in
///   a directory (`e-<parent id>-<H(name)>`), the `UsageRecord` (`u`) and
///   a `Tombstone` per deleted file's data still being removed
///   (`z-<data id>`). Every change of the tree is one record batch with
///   conditions on what it read, retried when another call came first.
/// - A file's data is cut into 64 KiB chunks in region maps
///   `fc-<data id>-<region>` (the chunk engine shared with disks); the
///   data id is random per file and never reused.
public final class FileStore: Sendable {
    public let backend: any StorageBackend
    /// Milliseconds since the Unix epoch (tests pass their own).
    let clock: @Sendable () -> Int64

    public init(backend: any StorageBackend, clock: @escaping @Sendable () -> Int64 = QueueStore.wallClock) {
        self.backend = backend
        self.clock = clock
    }

    /// A share as the tree calls address it.
    struct Share: Sendable {
        var account: String
        var name: String
        var record: ShareRecord
        /// The share record's sealed bytes (for a conditional change).
        var sealed: [UInt8]
        /// The account's namespace (`AccountKey.accountContainer`).
        var container: BackendContainer
        var tree: RecordMapName

        var hexID: String { Hex.encode(record.id) }
    }

    /// A file or directory read from the tree, with its sealed bytes (for a condition).
    struct Node: Sendable {
        var id: [UInt8]
        var record: InodeRecord
        var sealed: [UInt8]

        var key: String { FileStore.inodeKey(id) }
        var isRoot: Bool { id == InodeRecord.rootID }
    }

    /// A name in a directory read from the tree, with its sealed bytes.
    struct Link: Sendable {
        var parent: [UInt8]
        var key: String
        var record: EntryRecord
        var sealed: [UInt8]
    }

    // MARK: Names (not inlined: see QueueStore)

    @inline(never)
    func shareDirectory(_ account: String, _ key: AccountKey) throws -> RecordMapName {
        try RecordMapName(try key.accountContainer(account), "shares")
    }

    func shareKey(_ account: String, _ share: String, _ key: AccountKey) throws -> String {
        "s-\(try key.hashName(["share", account, share]))"
    }

    @inline(never)
    static func treeMap(_ container: BackendContainer, _ shareID: [UInt8]) throws -> RecordMapName {
        try RecordMapName(container, "fs-\(Hex.encode(shareID))")
    }

    static func inodeKey(_ id: [UInt8]) -> String { "n-\(Hex.encode(id))" }
    static func entryPrefix(_ parent: [UInt8]) -> String { "e-\(Hex.encode(parent))-" }
    static let usageKey = "u"
    static func tombstoneKey(_ dataID: [UInt8]) -> String { "z-\(Hex.encode(dataID))" }
    static let tombstonePrefix = "z-"

    func entryKey(_ s: Share, _ parent: [UInt8], _ name: String, _ key: AccountKey) throws -> String {
        Self.entryPrefix(parent) + (try key.hashName(["file-entry", s.account, s.hexID, Hex.encode(parent), name]))
    }

    static func shareContext(_ account: String) -> [UInt8] { SealedRecord.context(["share", account]) }

    /// The seal context of a tree record of kind `what` ("file-inode", "file-entry", "file-usage", "file-tombstone").
    static func treeContext(_ what: String, _ s: Share) -> [UInt8] { SealedRecord.context([what, s.account, s.hexID]) }

    static func shareNotFound(_ account: String, _ share: String) -> StorageError {
        StorageError(.notFound, "share '\(share)' does not exist in account '\(account)'")
    }

    static func notFound(_ s: Share, _ path: FilePath) -> StorageError {
        StorageError(.notFound, "'\(path)' does not exist in share '\(s.name)'")
    }

    // MARK: Shares

    /// The share's record, or `.notFound`.
    func share(_ account: String, _ name: String, _ key: AccountKey) async throws -> Share {
        try FileLimits.validate(shareName: name)
        let directory = try shareDirectory(account, key), recordKey = try shareKey(account, name, key)
        let found: [String: [UInt8]]
        do {
            found = try await backend.records(directory, keys: [recordKey])
        } catch let error as StorageError where error.code == .notFound {
            throw Self.shareNotFound(account, name)
        }
        guard let sealed = found[recordKey] else { throw Self.shareNotFound(account, name) }
        let record = try ShareRecord(decoding: try SealedRecord.open(sealed, context: Self.shareContext(account), map: directory,
                                                                     key: recordKey, accountKey: key))
        guard record.name.utf8.elementsEqual(name.utf8) else { throw StorageError.integrity("share record \(recordKey) names another share") }
        let container = try key.accountContainer(account)
        return Share(account: account, name: name, record: record, sealed: sealed, container: container,
                     tree: try Self.treeMap(container, record.id))
    }

    // MARK: Tree records

    /// The records of `keys` in the share's tree that exist (`.notFound` for the share when its tree is gone).
    func read(_ s: Share, _ keys: [String]) async throws -> [String: [UInt8]] {
        do {
            return try await backend.records(s.tree, keys: keys)
        } catch let error as StorageError where error.code == .notFound {
            throw Self.shareNotFound(s.account, s.name)
        }
    }

    func seal(_ plaintext: [UInt8], _ what: String, _ s: Share, _ recordKey: String, _ key: AccountKey) throws -> [UInt8] {
        try SealedRecord.seal(plaintext, context: Self.treeContext(what, s), map: s.tree, key: recordKey, accountKey: key)
    }

    func open(_ sealed: [UInt8], _ what: String, _ s: Share, _ recordKey: String, _ key: AccountKey) throws -> [UInt8] {
        try SealedRecord.open(sealed, context: Self.treeContext(what, s), map: s.tree, key: recordKey, accountKey: key)
    }

    func node(_ id: [UInt8], _ sealed: [UInt8], _ s: Share, _ key: AccountKey) throws -> Node {
        let record = try InodeRecord(decoding: try open(sealed, "file-inode", s, Self.inodeKey(id), key))
        if id == InodeRecord.rootID, record.kind != .directory { throw StorageError.integrity("the root inode is not a directory") }
        return Node(id: id, record: record, sealed: sealed)
    }

    func sealNode(_ id: [UInt8], _ record: InodeRecord, _ s: Share, _ key: AccountKey) throws -> [UInt8] {
        try seal(try record.encoded, "file-inode", s, Self.inodeKey(id), key)
    }

    /// The entry stored under `recordKey` (of `name` in `parent`), checked to name `name`.
    func link(_ parent: [UInt8], _ name: String, _ recordKey: String, _ sealed: [UInt8], _ s: Share, _ key: AccountKey) throws -> Link {
        let record = try EntryRecord(decoding: try open(sealed, "file-entry", s, recordKey, key))
        guard record.name.utf8.elementsEqual(name.utf8) else { throw StorageError.integrity("entry \(recordKey) names another file") }
        return Link(parent: parent, key: recordKey, record: record, sealed: sealed)
    }

    func usage(_ sealed: [UInt8]?, _ s: Share, _ key: AccountKey) throws -> UsageRecord {
        guard let sealed else { throw StorageError.integrity("share '\(s.name)' has no usage record") }
        return try UsageRecord(decoding: try open(sealed, "file-usage", s, Self.usageKey, key))
    }

    /// The inode `id`, nil when it is not there.
    func node(_ id: [UInt8], _ s: Share, _ key: AccountKey) async throws -> Node? {
        try await read(s, [Self.inodeKey(id)])[Self.inodeKey(id)].map { try node(id, $0, s, key) }
    }

    /// The entry of `name` in directory `parent`, nil when there is none.
    func link(_ parent: [UInt8], _ name: String, _ s: Share, _ key: AccountKey) async throws -> Link? {
        let recordKey = try entryKey(s, parent, name, key)
        return try await read(s, [recordKey])[recordKey].map { try link(parent, name, recordKey, $0, s, key) }
    }

    /// The inode id of the directory at `path`: one entry read per component.
    /// `.notFound` for a missing component, `.notDirectory` for a file on the way.
    func directoryID(_ path: FilePath, _ s: Share, _ key: AccountKey) async throws -> [UInt8] {
        var id = InodeRecord.rootID
        for (index, name) in path.components.enumerated() {
            let here = FilePath(components: Array(path.components[...index]))
            guard let link = try await link(id, name, s, key) else { throw Self.notFound(s, here) }
            guard link.record.kind == .directory else { throw StorageError(.notDirectory, "'\(here)' in share '\(s.name)' is not a directory") }
            id = link.record.child
        }
        return id
    }

    /// The entry at `path` (not the root) and the inode it names.
    func resolve(_ path: FilePath, _ s: Share, _ key: AccountKey) async throws -> (link: Link, node: Node) {
        let parent = try await directoryID(path.parent, s, key)
        guard let link = try await link(parent, path.name, s, key) else { throw Self.notFound(s, path) }
        guard let node = try await node(link.record.child, s, key), node.record.kind == link.record.kind,
              node.record.parent == parent else {
            // Removed or moved between the two reads (or damaged): read again.
            throw TreeChanged()
        }
        return (link, node)
    }

    /// Thrown by a step that found the tree changed between two of its reads: the verb starts over.
    struct TreeChanged: Error {}

    /// Runs `body` until it finishes: again when it returns nil (its batch's
    /// condition failed: another call changed what it read) or finds the
    /// tree changed between its reads (`TreeChanged`).
    @discardableResult
    func retrying<T>(_ body: () async throws -> T?) async throws -> T {
        var changes = 0
        while true {
            do {
                if let result = try await body() { return result }
            } catch is TreeChanged {
                changes += 1
                // A node whose entry exists but whose inode never appears is damage, not a race.
                if changes > 100 { throw StorageError.integrity("an entry names an inode that does not match it") }
            }
        }
    }

    /// Applies `change` to the share's tree: false when a condition failed.
    func commit(_ change: TreeChange, _ s: Share) async throws -> Bool {
        do {
            try await backend.apply(change.batch, to: s.tree)
            return true
        } catch let error as StorageError where error.code == .conditionFailed {
            return false
        } catch let error as StorageError where error.code == .notFound {
            throw Self.shareNotFound(s.account, s.name)
        }
    }
}

/// One batch of changes to a share's tree, each condition and change at
/// most once per key.
struct TreeChange {
    var conditions: [String: RecordCondition] = [:]
    var sets: [String: [UInt8]] = [:]
    var removes: Set<String> = []

    /// The record at `key` must still be `sealed` (absent when nil).
    mutating func expect(_ key: String, _ sealed: [UInt8]?) {
        conditions[key] = sealed.map { .equals(key, $0) } ?? .absent(key)
    }

    mutating func set(_ key: String, _ sealed: [UInt8], expecting old: [UInt8]?) {
        expect(key, old)
        sets[key] = sealed
    }

    mutating func remove(_ key: String, expecting old: [UInt8]) {
        expect(key, old)
        removes.insert(key)
    }

    var batch: RecordBatch {
        RecordBatch(conditions: conditions.keys.sorted().map { conditions[$0]! }, sets: sets, removes: removes.sorted())
    }
}
