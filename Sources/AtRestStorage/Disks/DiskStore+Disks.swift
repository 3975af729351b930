import AtRestCrypto

/// Creating, deleting, listing, describing and resizing disks.
extension DiskStore {
    /// A new disk of `size` bytes (a multiple of 512, up to 4 TiB) that
    /// reads as zeros; `.alreadyExists` when the account has a disk of that name.
    @discardableResult
    public func createDisk(account: String, name: String, size: UInt64, metadata: [String: String] = [:],
                           accountKey: AccountKey) async throws -> DiskInfo {
        try DiskLimits.validate(diskName: name)
        try DiskLimits.validate(size: size)
        try DiskLimits.validate(metadata: metadata)
        let directory = try directory(account, accountKey), recordKey = try directoryKey(account, name, accountKey)
        _ = try await StorageError.succeeds(unless: .alreadyExists) { try await self.backend.createRecordMap(directory) }
        let record = DiskRecord(id: try SecureRandom.bytes(DiskRecord.idSize), size: size, creationTime: clock(), name: name, metadata: metadata)
        let sealed = try SealedRecord.seal(try record.encoded, context: Self.diskContext(account), map: directory, key: recordKey, accountKey: accountKey)
        // No region maps yet: each is made by the first write into it.
        let batch = RecordBatch(conditions: [.absent(recordKey)], sets: [recordKey: sealed])
        guard try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) else {
            throw StorageError(.alreadyExists, "disk '\(name)' already exists in account '\(account)'")
        }
        forget(account, name, accountKey)
        return record.info
    }

    /// Removes the disk and all its data (`.notFound`).
    public func deleteDisk(account: String, name: String, accountKey: AccountKey) async throws {
        let (record, sealed) = try await diskRecord(account, name, accountKey)
        let directory = try directory(account, accountKey), recordKey = try directoryKey(account, name, accountKey)
        forget(account, name, accountKey)
        // The name first: once it is gone no call finds the disk, whatever happens to its maps.
        let batch = RecordBatch(conditions: [.equals(recordKey, sealed)], removes: [recordKey])
        guard try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) else {
            return try await deleteDisk(account: account, name: name, accountKey: accountKey)  // changed meanwhile: delete what is there now
        }
        try await chunks(try disk(account, record, accountKey), name, accountKey).deleteAll(size: record.size)
    }

    /// The disk's name, size, creation time and metadata.
    public func properties(account: String, name: String, accountKey: AccountKey) async throws -> DiskInfo {
        try await diskRecord(account, name, accountKey).record.info
    }

    /// Replaces the disk's metadata.
    @discardableResult
    public func setMetadata(account: String, name: String, metadata: [String: String], accountKey: AccountKey) async throws -> DiskInfo {
        try DiskLimits.validate(metadata: metadata)
        return try await change(account, name, accountKey) { record in record.metadata = metadata }
    }

    /// Grows or shrinks the disk to `size` bytes. Shrinking drops the data
    /// beyond the new end; growing adds zeros (what lay beyond the old end
    /// is removed first, so the new range reads as zeros whatever a racing
    /// call left there).
    @discardableResult
    public func resize(account: String, name: String, size: UInt64, accountKey: AccountKey) async throws -> DiskInfo {
        try DiskLimits.validate(size: size)
        return try await change(account, name, accountKey) { record in
            guard record.size != size else { return }
            let disk = try disk(account, record, accountKey)
            let from = min(size, record.size)
            try await chunks(disk, name, accountKey).clear(at: from, length: max(size, record.size) - from)
            record.size = size
        }
    }

    /// Applies `edit` to the disk's record and stores it, conditional on the
    /// record read (again on the record there now when it changed meanwhile).
    private func change(_ account: String, _ name: String, _ accountKey: AccountKey,
                        _ edit: (inout DiskRecord) async throws -> Void) async throws -> DiskInfo {
        let directory = try directory(account, accountKey), recordKey = try directoryKey(account, name, accountKey)
        while true {
            forget(account, name, accountKey)
            var (record, sealed) = try await diskRecord(account, name, accountKey)
            let before = record
            do {
                try await edit(&record)
            } catch is DiskChanged {
                continue  // deleted and created again meanwhile: change the disk there now
            }
            guard record != before else { return record.info }
            let resealed = try SealedRecord.seal(try record.encoded, context: Self.diskContext(account), map: directory, key: recordKey,
                                                 accountKey: accountKey)
            let batch = RecordBatch(conditions: [.equals(recordKey, sealed)], sets: [recordKey: resealed])
            if try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) {
                forget(account, name, accountKey)
                return record.info
            }
        }
    }

    /// Disks whose names start with `prefix`, by name, after `continuation` (a name from the last page).
    public func listDisks(account: String, prefix: String = "", continuation: String? = nil, limit: Int = 1000,
                          accountKey: AccountKey) async throws -> DiskListing {
        guard DiskLimits.listPage.contains(limit) else { throw StorageError(.invalidArgument, "list 1-1000 disks at a time, not \(limit)") }
        let directory = try directory(account, accountKey)
        var disks: [DiskInfo] = []
        // No directory: the account never had a disk.
        for entry in try await backend.allRecords(directory) ?? [] {
            let record = try DiskRecord(decoding: try SealedRecord.open(entry.value, context: Self.diskContext(account), map: directory,
                                                                        key: entry.key, accountKey: accountKey))
            guard record.name.hasPrefix(prefix), continuation.map({ record.name > $0 }) ?? true else { continue }
            disks.append(record.info)
        }
        // Names are hashed in the directory: the order by name is made here.
        disks.sort { $0.name < $1.name }
        let page = Array(disks.prefix(limit))
        return DiskListing(disks: page, continuation: disks.count > limit ? page.last?.name : nil)
    }
}
