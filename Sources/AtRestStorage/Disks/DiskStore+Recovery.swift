import AtRestCrypto

/// Offline recovery (`atrest-recover`): every disk of an account and every
/// chunk stored in each of its regions, each chunk opened and checked on
/// its own, so one damaged record is reported and the rest still reads.
/// Reads only.
extension DiskStore {
    /// A record that does not open: where and why (for a chunk, the key is
    /// `<region>/<chunk key>`, the region in 4 hex digits).
    public typealias DamagedRecord = QueueStore.DamagedRecord

    /// A disk as its directory record names it.
    public struct RecoveredDisk: Sendable {
        public var info: DiskInfo
        let disk: Disk
    }

    /// One stored chunk: where it starts on the disk and its 4096 bytes.
    public struct RecoveredChunk: Sendable {
        public var offset: UInt64
        public var bytes: [UInt8]
    }

    /// The account's disks by name, and the directory records that do not
    /// open. An account that never had a disk has none.
    public func recoverDisks(account: String, accountKey: AccountKey) async throws -> (disks: [RecoveredDisk], damaged: [DamagedRecord]) {
        let directory = try directory(account, accountKey)
        var disks: [RecoveredDisk] = [], damaged: [DamagedRecord] = []
        for entry in try await backend.allRecords(directory) ?? [] {
            do {
                let record = try DiskRecord(decoding: try SealedRecord.open(entry.value, context: Self.diskContext(account), map: directory,
                                                                            key: entry.key, accountKey: accountKey))
                guard try directoryKey(account, record.name, accountKey) == entry.key else {
                    throw StorageError.integrity("disk record \(entry.key) names another disk")
                }
                disks.append(RecoveredDisk(info: record.info, disk: try disk(account, record, accountKey)))
            } catch {
                damaged.append(DamagedRecord(key: entry.key, reason: QueueStore.reason(error)))
            }
        }
        return (disks.sorted { $0.info.name < $1.info.name }, damaged)
    }

    /// Every chunk stored in the disk's regions, by offset (a missing
    /// region or chunk holds zeros); `each` gets every chunk or damaged
    /// record in turn. A record whose key is not a chunk of its region, or
    /// a chunk wholly beyond the disk's end, is damaged.
    public func recoverChunks(of disk: RecoveredDisk, accountKey: AccountKey,
                              _ each: (Result<RecoveredChunk, DamagedRecord>) async throws -> Void) async throws {
        try await chunks(disk.disk, disk.info.name, accountKey).recover(size: disk.disk.size, "disk") { recovered in
            switch recovered {
            case .chunk(let offset, let bytes): try await each(.success(RecoveredChunk(offset: offset, bytes: bytes)))
            case .damaged(let key, let error): try await each(.failure(DamagedRecord(key: key, reason: QueueStore.reason(error))))
            }
        }
    }
}
