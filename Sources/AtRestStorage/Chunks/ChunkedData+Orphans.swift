import AtRestCrypto

/// Orphaned extents (docs/FORMAT.md "Extents", "Orphans"): extent objects
/// that no marker names, because their writer crashed between the extent's
/// put and its batch, or its batch failed in a way that does not prove it
/// did not land. Nothing reads them; they cost storage until the disk or
/// file is deleted, unless the collector removes them first.
///
/// The collector cannot tell a crashed writer from a slow one by looking,
/// and needs no clock to be safe: it condemns an extent by writing a
/// *tombstone* (a marker with no chunk live, `Marker(noneOf:)`) at the
/// extent's marker key, conditional on that key being absent, and deletes
/// the object only once the tombstone has landed. Every batch that writes
/// an extent's references is conditional on the same key being absent, so
/// exactly one of the two lands: the writer's (the collector's condition
/// fails and the extent stays), or the collector's (the writer's batch
/// fails, finds the tombstone and writes its run again as a new extent).
/// The grace period (older than, by the time in the extent's id) only
/// spares writers in progress that extra seal; correctness does not depend
/// on it. Tombstones stay (a few dozen bytes each) until their region map
/// is deleted: a writer's batch held back long enough could otherwise land
/// after one was removed.
extension ChunkedData {
    /// What collecting a region's orphans did.
    struct OrphanCount: Sendable, Equatable {
        /// Extent objects deleted (condemned now, or earlier by a pass that stopped before the delete).
        var removed = 0
        /// Orphans left: younger than the grace, or named by a batch that landed first.
        var kept = 0
        /// Left because they cannot be judged: their region map is missing
        /// (no tombstone can be written; removed with the disk or file), or
        /// an extent or marker fails its integrity check.
        var skipped = 0

        static func + (a: OrphanCount, b: OrphanCount) -> OrphanCount {
            OrphanCount(removed: a.removed + b.removed, kept: a.kept + b.kept, skipped: a.skipped + b.skipped)
        }
    }

    /// Collects the orphans among `ids`, the extent objects listed in
    /// `region`: those no marker of the region map names, made before
    /// `cutoffMillis` (ms since the epoch), are condemned (tombstone, then
    /// delete); objects whose marker is a tombstone already are deleted.
    func collectOrphans(region: UInt64, ids: [[UInt8]], before cutoffMillis: UInt64) async throws -> OrphanCount {
        var count = OrphanCount()
        let map = try self.map(region)
        guard let markers = try await markerValues(map) else {
            count.skipped = ids.count
            return count
        }
        var marked: [[UInt8]: (key: String, value: [UInt8])] = [:]
        for marker in markers {
            if let id = Self.markerID(ofKey: marker.key) { marked[id] = marker }
        }
        for id in ids {
            if let (key, sealed) = marked[id] {
                // Named by a marker: live, or a tombstone whose object a pass that stopped did not delete.
                guard let marker = try? marker(sealed, map, key) else {
                    count.skipped += 1
                    continue
                }
                if marker.isDead {
                    try await deleteObject(try extentName(id: id, region: region))
                    count.removed += 1
                }
                continue
            }
            guard Extent(id: id, first: 0, count: 1).millis < cutoffMillis else {
                count.kept += 1
                continue
            }
            let extent: Extent
            do {
                extent = try await openExtent(id, region: region).extent
            } catch let error as StorageError where error.code == .notFound {
                continue  // deleted meanwhile
            } catch {
                count.skipped += 1
                continue
            }
            let markerKey = Self.markerKey(extent)
            let tombstone = RecordBatch(conditions: [.absent(markerKey)],
                                        sets: [markerKey: try seal(Marker(noneOf: extent).encoded, map, markerKey)])
            do {
                try await backend.apply(tombstone, to: map)
            } catch let error as StorageError where error.code == .conditionFailed {
                count.kept += 1  // its batch landed first: not an orphan
                continue
            } catch let error as StorageError where error.code == .notFound {
                count.skipped += 1  // the region map went meanwhile
                continue
            }
            try await deleteObject(try extentName(extent))
            count.removed += 1
        }
        return count
    }

    /// Every marker of `map` (key, sealed value); nil when the map is missing.
    private func markerValues(_ map: RecordMapName) async throws -> [(key: String, value: [UInt8])]? {
        var found: [(key: String, value: [UInt8])] = []
        var after = "x-"
        while true {
            let page: RecordPage
            do {
                page = try await backend.records(map, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                return nil
            }
            found += page.records.filter { Self.markerParts(ofKey: $0.key) != nil }.map { ($0.key, $0.value) }
            guard page.more, let last = page.records.last?.key else { return found }
            after = last
        }
    }
}
