import AtRestCrypto

/// The kinds an account keeps in record maps, which the re-encryption job
/// walks after its blob containers (`AccountData/Reencrypt` with a kind).
public enum RecordKind: String, Sendable, CaseIterable {
    case queues, tables, disks, shares

    /// The account's directory map of the kind (`a-<account hash>` / this).
    var directoryMap: String { rawValue }

    /// The seal context of the kind's directory records.
    func directoryContext(_ account: String) -> [UInt8] {
        switch self {
        case .queues: QueueStore.queueContext(account)
        case .tables: TableStore.tableContext(account)
        case .disks: DiskStore.diskContext(account)
        case .shares: FileStore.shareContext(account)
        }
    }
}

/// Re-encryption of an account's queues, tables, disks and shares (issue
/// 20; docs/FORMAT.md "Account key versions"): every record sealed under an
/// older own-chain version (`migrating`) is opened and sealed again under
/// the current version of `accountKey`, same plaintext, same key, same
/// map, in a batch conditional on the bytes read, so a concurrent change
/// (already under the current version) wins and nothing is lost or
/// duplicated. Nothing but the seal changes: message ids, pop receipts
/// (their secret is in the plaintext), entity ETags and timestamps, inode
/// times, disk and file bytes stay as they were.
///
/// A kind is walked item by item in its directory's key order (one queue,
/// table, disk or share at a time): the item's directory record first,
/// then its maps (a queue's messages; a table's entities and RowKey index;
/// a disk's regions; a share's tree, then the data regions of each of its
/// chunked files, inode by inode). A page stops after about `maxRecords`
/// records and returns a token naming where it stopped
/// (`RecordReencryption.Cursor`); pages are idempotent, so a page done
/// twice (a job resumed after a crash) is harmless.
public struct RecordReencryption: Sendable {
    public let backend: any StorageBackend
    public let account: String
    public let accountKey: AccountKey
    /// The versions that move (nil: every version but the current one).
    public let migrating: Set<UInt32>?

    public init(backend: any StorageBackend, account: String, accountKey: AccountKey, migrating: Set<UInt32>?) {
        self.backend = backend
        self.account = account
        self.accountKey = accountKey
        self.migrating = migrating
    }

    /// Where a walk of a kind stopped: the item (its directory key), the
    /// stage in it (0: its directory record; 1...: its maps, per kind; -1:
    /// done, go to the next item), for a share's data the inode whose data
    /// is walked and its region, and the last record key done in the map.
    struct Cursor: Equatable {
        var item: String? = nil
        var stage = 0
        var file: String? = nil
        var region: UInt64 = 0
        var after: String? = nil

        static let done = -1

        /// "r1 <item> <stage> <file> <region> <after>" (keys never hold a space; "" for none).
        var token: String {
            ["r1", item ?? "", String(stage), file ?? "", String(region), after ?? ""].joined(separator: " ")
        }

        init() {}

        init(item: String) { self.item = item }

        @inline(never)
        init(token: String) throws(StorageError) {
            let parts = token.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            func key(_ part: String) throws(StorageError) -> String? {
                guard !part.isEmpty else { return nil }
                guard RecordBatch.isValidKey(part) else { throw Self.invalid }
                return part
            }
            guard parts.count == 6, parts[0] == "r1", let stage = Int(parts[2]), stage >= Self.done, let region = UInt64(parts[4]) else { throw Self.invalid }
            item = try key(parts[1])
            self.stage = stage
            file = try key(parts[3])
            self.region = region
            after = try key(parts[5])
            guard item != nil || (stage == 0 && file == nil && after == nil) else { throw Self.invalid }
        }

        static let invalid = StorageError(.invalidArgument, "the page token is not one a re-encryption page of this kind returned")
    }

    /// One page of `kind`: records resealed from `pageToken` (nil: the start)
    /// on; `nextPageToken` nil when the kind is done.
    public func page(_ kind: RecordKind, pageToken: String?, maxRecords: Int) async throws -> ReencryptPage {
        var cursor = Cursor()
        if let pageToken { cursor = try Cursor(token: pageToken) }
        var page = ReencryptPage()
        let directory = try directoryMap(kind)
        let context = kind.directoryContext(account)
        while page.objects < maxRecords {
            if cursor.item == nil || cursor.stage == Cursor.done {
                guard let next = try await records(directory, after: cursor.item, limit: 1)?.records.first else { return page }  // done
                cursor = Cursor(item: next.key)
            }
            guard let item = cursor.item, let sealed = try await record(directory, item) else {
                cursor.stage = Cursor.done  // deleted meanwhile (its records with it)
                continue
            }
            if cursor.stage == 0 {
                try await reseal([Record(key: item, value: sealed)], in: directory, { _ in .record(context) }, &page)
                cursor.stage = 1
                cursor.after = nil
                continue
            }
            let plaintext = try SealedRecord.open(sealed, context: context, map: directory, key: item, accountKey: accountKey)
            let budget = max(1, min(RecordBatch.maxChanges, maxRecords - page.objects))
            switch kind {
            case .queues: try await queueStep(QueueRecord(decoding: plaintext), &cursor, budget, &page)
            case .tables: try await tableStep(TableRecord(decoding: plaintext), &cursor, budget, &page)
            case .disks: try await diskStep(DiskRecord(decoding: plaintext), &cursor, budget, &page)
            case .shares: try await shareStep(ShareRecord(decoding: plaintext), &cursor, budget, &page)
            }
        }
        page.nextPageToken = cursor.token
        return page
    }

    // MARK: Reading (a missing map is nil: never made, or deleted meanwhile)

    @inline(never)
    func directoryMap(_ kind: RecordKind) throws -> RecordMapName {
        try RecordMapName(try accountKey.accountContainer(account), kind.directoryMap)
    }

    @inline(never)
    func map(_ name: String) throws -> RecordMapName {
        try RecordMapName(try accountKey.accountContainer(account), name)
    }

    func records(_ map: RecordMapName, after: String?, limit: Int) async throws -> RecordPage? {
        do {
            return try await backend.records(map, after: after, limit: limit)
        } catch let error as StorageError where error.code == .notFound {
            return nil
        }
    }

    func record(_ map: RecordMapName, _ key: String) async throws -> [UInt8]? {
        do {
            return try await backend.records(map, keys: [key])[key]
        } catch let error as StorageError where error.code == .notFound {
            return nil
        }
    }

    /// One page of `map` after `cursor.after` resealed: `cursor.after`
    /// moves on; returns false when the map is done (or missing).
    func mapPage(_ map: RecordMapName, _ cursor: inout Cursor, _ budget: Int, _ page: inout ReencryptPage,
                 extents: ChunkedData? = nil, _ form: (String) -> ResealForm) async throws -> Bool {
        guard let records = try await records(map, after: cursor.after, limit: budget) else { return false }
        try await reseal(records.records, in: map, form, &page)
        if let extents {
            // An extent's marker (read before its reseal above): the extent object moves too.
            for record in records.records where ChunkedData.markerID(ofKey: record.key) != nil {
                try await extents.resealExtent(try extents.marker(record.value, map, record.key).extent, migrating: migrating, &page)
            }
        }
        guard records.more, let last = records.records.last?.key else { return false }
        cursor.after = last
        return true
    }

    /// Chunk records and extent markers of a disk or file region (keys of
    /// another form are neither: left, as listings skip them).
    func chunkForm(_ geometry: ChunkedData.Geometry, _ hexID: String) -> (String) -> ResealForm {
        { [account] key in
            if ChunkedData.chunkIndex(ofKey: key) != nil { return .chunk(SealedRecord.context([geometry.context, account, hexID, key])) }
            return ChunkedData.markerID(ofKey: key) == nil ? .none : .record(SealedRecord.context([geometry.context, account, hexID, key]))
        }
    }

    /// The chunk engine of a disk's or file's data (its extents move with its region maps).
    func chunks(_ geometry: ChunkedData.Geometry, _ id: [UInt8]) throws -> ChunkedData {
        ChunkedData(backend: backend, geometry: geometry, account: account, id: id, container: try accountKey.accountContainer(account),
                    accountKey: accountKey) { _ in }
    }

    // MARK: Kinds

    /// Stage 1: the queue's messages.
    func queueStep(_ queue: QueueRecord, _ cursor: inout Cursor, _ budget: Int, _ page: inout ReencryptPage) async throws {
        let context = QueueStore.messageContext(account, queue.id)
        if try await !mapPage(try map("q-\(Hex.encode(queue.id))"), &cursor, budget, &page, { _ in .record(context) }) {
            cursor.stage = Cursor.done
        }
    }

    /// Stage 1: the table's entities (main records with their pieces) and its RowKey index chunks.
    func tableStep(_ table: TableRecord, _ cursor: inout Cursor, _ budget: Int, _ page: inout ReencryptPage) async throws {
        let hexID = Hex.encode(table.id)
        let entity = SealedRecord.context(["entity", account, hexID]), index = SealedRecord.context(["entity-index", account, hexID])
        let more = try await mapPage(try map("t-\(hexID)"), &cursor, budget, &page) { key in
            if key.hasPrefix("i-") { return .record(index) }
            // `e-<P>-<R>` is a main record; `e-<P>-<R>-<2 hex>` a piece, moved with it.
            if key.hasPrefix("e-") { return key.utf8.lazy.filter { $0 == UInt8(ascii: "-") }.count == 2 ? .entity(entity) : .none }
            return .none
        }
        if !more { cursor.stage = Cursor.done }
    }

    /// Stage 1 + r: region r of the disk.
    func diskStep(_ disk: DiskRecord, _ cursor: inout Cursor, _ budget: Int, _ page: inout ReencryptPage) async throws {
        let region = UInt64(cursor.stage - 1), hexID = Hex.encode(disk.id)
        guard region < ChunkedData.Geometry.disk.regions(disk.size) else {
            cursor.stage = Cursor.done
            return
        }
        let map = try ChunkedData.map(region, of: hexID, in: try accountKey.accountContainer(account), .disk)
        if try await !mapPage(map, &cursor, budget, &page, extents: try chunks(.disk, disk.id), chunkForm(.disk, hexID)) {
            cursor.stage += 1
            cursor.after = nil
        }
    }

    /// Stage 1: the share's tree; stage 2: the data of its chunked files, inode by inode, region by region.
    func shareStep(_ share: ShareRecord, _ cursor: inout Cursor, _ budget: Int, _ page: inout ReencryptPage) async throws {
        let hexID = Hex.encode(share.id)
        let tree = try FileStore.treeMap(try accountKey.accountContainer(account), share.id)
        func context(_ what: String) -> [UInt8] { SealedRecord.context([what, account, hexID]) }
        let inode = context("file-inode"), entry = context("file-entry"), usage = context("file-usage"), tombstone = context("file-tombstone")
        if cursor.stage == 1 {
            let more = try await mapPage(tree, &cursor, budget, &page) { key in
                if key.hasPrefix("n-") { return .record(inode) }
                if key.hasPrefix("e-") { return .record(entry) }
                if key == FileStore.usageKey { return .record(usage) }
                if key.hasPrefix(FileStore.tombstonePrefix) { return .record(tombstone) }
                return .none
            }
            if !more { (cursor.stage, cursor.after, cursor.file, cursor.region) = (2, nil, nil, 0) }
            return
        }
        // Stage 2: the file `cursor.file` (nil: find the first), region `cursor.region`.
        guard let file = cursor.file else {
            guard let first = try await nextChunkedFile(tree, after: "n-", inode) else { cursor.stage = Cursor.done; return }
            (cursor.file, cursor.region, cursor.after) = (first, 0, nil)
            return
        }
        guard let sealed = try await record(tree, file),
              let node = try? InodeRecord(decoding: try SealedRecord.open(sealed, context: inode, map: tree, key: file, accountKey: accountKey)),
              node.kind == .file, node.inline == nil, cursor.region < ChunkedData.Geometry.file.regions(node.size) else {
            // Deleted, made inline, or all its regions done: the next file.
            if let next = try await nextChunkedFile(tree, after: file, inode) {
                (cursor.file, cursor.region, cursor.after) = (next, 0, nil)
            } else {
                cursor.stage = Cursor.done
            }
            return
        }
        let dataID = Hex.encode(node.dataID)
        let map = try ChunkedData.map(cursor.region, of: dataID, in: try accountKey.accountContainer(account), .file)
        if try await !mapPage(map, &cursor, budget, &page, extents: try chunks(.file, node.dataID), chunkForm(.file, dataID)) {
            cursor.region += 1
            cursor.after = nil
        }
    }

    /// The key of the first inode after `after` that is a file with chunked data (nil: none).
    func nextChunkedFile(_ tree: RecordMapName, after: String, _ context: [UInt8]) async throws -> String? {
        var after = after
        while let page = try await records(tree, after: after, limit: 100) {
            for record in page.records {
                guard record.key.hasPrefix("n-") else { return nil }
                let node = try InodeRecord(decoding: try SealedRecord.open(record.value, context: context, map: tree, key: record.key, accountKey: accountKey))
                if node.kind == .file, node.inline == nil, node.size > 0 { return record.key }
            }
            guard page.more, let last = page.records.last?.key else { return nil }
            after = last
        }
        return nil
    }
}
