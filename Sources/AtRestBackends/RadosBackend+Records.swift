import AtRestRados
import AtRestStorage

extension RadosLayout {
    /// The RADOS object whose omap is record map `map`. Its last component
    /// starts with "." (which `BackendName` never does), so it is never an
    /// object's head, and the garbage collector leaves it alone (`.foreign`).
    static func recordMap(_ map: RecordMapName) -> String { "\(map.container.id)/.map-\(map.map)" }
}

/// Record maps on RADOS: one object per map, its records the object's omap
/// (docs/FORMAT.md "Record maps"). A batch is one write op on that object —
/// `assert_exists`, one `omap_cmp` per condition (an absent key compares as
/// the empty value, and values are never empty), then the removes and sets —
/// which the primary OSD applies atomically and acknowledges once every
/// replica has it.
extension RadosBackend {
    public func createRecordMap(_ map: RecordMapName) async throws {
        do {
            try await pool.operate(RadosLayout.recordMap(map), RadosWriteOperation([.create(exclusive: true)]))
        } catch let error as RadosError where error.code == .alreadyExists {
            throw StorageError(.alreadyExists, "record map \(map) already exists")
        } catch {
            throw failure(error, "creating record map \(map)")
        }
    }

    public func deleteRecordMap(_ map: RecordMapName) async throws {
        do {
            try await pool.operate(RadosLayout.recordMap(map), RadosWriteOperation([.assertExists, .remove]))
        } catch let error as RadosError where error.code == .notFound {
            throw StorageError(.notFound, "record map \(map) does not exist")
        } catch {
            throw failure(error, "deleting record map \(map)")
        }
    }

    public func records(_ map: RecordMapName, after: String?, limit: Int) async throws -> RecordPage {
        guard (1...1000).contains(limit) else { throw StorageError(.invalidArgument, "a record page holds 1-1000 records, not \(limit)") }
        var records: [Record] = []
        var cursor = after
        // An OSD may return fewer entries than asked (it caps one read): read on until the page is full.
        while true {
            let page = try await readMap(map, .omap(after: cursor, prefix: "", max: limit - records.count)).omap
            let entries = page?.entries ?? []
            records += entries.map { Record(key: $0.key, value: $0.value) }
            guard page?.more == true, let last = entries.last?.key else { return RecordPage(records: records, more: false) }
            if records.count >= limit { return RecordPage(records: records, more: true) }
            cursor = last
        }
    }

    /// Keys only (one `omap_get_keys2` per page): the values stay on the OSD.
    public func recordKeys(_ map: RecordMapName, after: String?, limit: Int) async throws -> (keys: [String], more: Bool) {
        guard (1...1000).contains(limit) else { throw StorageError(.invalidArgument, "a record page holds 1-1000 records, not \(limit)") }
        var keys: [String] = []
        var cursor = after
        // As `records(_:after:limit:)`: an OSD may return fewer keys than asked.
        while true {
            let page = try await readMap(map, .omapKeys(after: cursor, max: limit - keys.count)).omapKeys
            keys += page?.keys ?? []
            guard page?.more == true, let last = page?.keys.last else { return (keys, false) }
            if keys.count >= limit { return (keys, true) }
            cursor = last
        }
    }

    public func records(_ map: RecordMapName, keys: [String]) async throws -> [String: [UInt8]] {
        guard (1...1000).contains(keys.count) else { throw StorageError(.invalidArgument, "ask for 1-1000 records, not \(keys.count)") }
        return try await readMap(map, .omapValues(keys: keys)).omapValues
    }

    /// The map object's version as the OSD reports it with a stat (`rados_aio_get_version`): every write op on
    /// the object moves it on, reads do not. (A batch whose comparison failed may move it too: a change the
    /// caller reads again for, never one it misses.)
    public func recordMapChangeCount(_ map: RecordMapName) async throws -> UInt64? {
        try await readMap(map, .stat).version
    }

    public func apply(_ batch: RecordBatch, to map: RecordMapName) async throws {
        let batch = try batch.validated()
        var steps: [RadosWriteOperation.Step] = [.assertExists]
        for condition in batch.conditions {
            switch condition {
            case .absent(let key): steps.append(.compareOmap(key: key, value: []))
            case .equals(let key, let value): steps.append(.compareOmap(key: key, value: value))
            }
        }
        if !batch.removes.isEmpty { steps.append(.removeOmapKeys(batch.removes)) }
        if !batch.sets.isEmpty { steps.append(.setOmap(batch.sets)) }
        do {
            try await pool.operate(RadosLayout.recordMap(map), RadosWriteOperation(steps))
        } catch let error as RadosError where error.code == .comparisonFailed {
            throw StorageError(.conditionFailed, "record map \(map): a condition of the batch does not hold; nothing changed")
        } catch let error as RadosError where error.code == .notFound {
            throw StorageError(.notFound, "record map \(map) does not exist")
        } catch {
            throw failure(error, "updating record map \(map)")
        }
    }

    /// One read op on the map's object; `.notFound` when the map is absent.
    private func readMap(_ map: RecordMapName, _ step: RadosReadOperation.Step) async throws -> RadosReadResult {
        do {
            return try await pool.read(RadosLayout.recordMap(map), RadosReadOperation([step]))
        } catch let error as RadosError where error.code == .notFound {
            throw StorageError(.notFound, "record map \(map) does not exist")
        } catch {
            throw failure(error, "reading record map \(map)")
        }
    }
}
