import AtRestRados
import AtRestStorage

/// The current head of an object: its RADOS version and what it records.
struct RadosHead: Sendable {
    var version: UInt64
    var size: UInt64
    var record: HeadRecord
    /// The first bytes of the head's data, read in the same op when asked
    /// (`currentHead(_:prefetch:)`): of this version, so a reader of an
    /// unstriped object needs no second round trip for them.
    var prefix: [UInt8] = []
}

extension RadosBackend {
    /// The head named `head` (a RADOS name), read in one op (stat +
    /// xattrs, and the first `prefetch` bytes of its data, so all are of one
    /// version); nil when there is none.
    func currentHead(_ head: String, prefetch: Int = 0) async throws -> RadosHead? {
        do {
            let steps: [RadosReadOperation.Step] = prefetch > 0 ? [.stat, .xattrs, .read(offset: 0, length: prefetch)] : [.stat, .xattrs]
            let result = try await pool.read(head, RadosReadOperation(steps))
            let size = result.stat?.size ?? 0
            // A head always carries its record; one without is treated as a whole unstriped object.
            var record = result.xattrs[RadosLayout.headXattr].flatMap(HeadRecord.init) ?? HeadRecord(upload: "", size: size, stripeSize: 0, stripes: 0)
            // Written apart from the record since blind replaces (which keep it): it wins.
            if let entry = result.xattrs[RadosLayout.entryXattr], !entry.isEmpty { record.entry = String(decoding: entry, as: UTF8.self) }
            return RadosHead(version: result.version, size: record.stripes == 0 ? size : record.size, record: record,
                             prefix: record.stripes == 0 ? result.data : [])
        } catch let error as RadosError where error.code == .notFound {
            return nil
        } catch {
            throw failure(error, "reading \(head)")
        }
    }

    func currentHead(_ name: BackendName) async throws -> RadosHead? { try await currentHead(RadosLayout.head(name)) }

    /// Whether the container's index object exists.
    func containerExists(_ container: BackendContainer) async throws -> Bool {
        do {
            _ = try await pool.read(RadosLayout.index(container), RadosReadOperation([.stat]))
            return true
        } catch let error as RadosError where error.code == .notFound {
            return false
        } catch {
            throw failure(error, "reading the index of \(container)")
        }
    }

    /// `.notFound` for `name`, or `.containerNotFound` when its container is gone too.
    func missing(_ name: BackendName) async -> StorageError {
        (try? await containerExists(name.container)) == false
            ? StorageError(.containerNotFound, "backend container \(name.container) does not exist")
            : StorageError(.notFound, "backend object \(name) does not exist")
    }

    /// The value of index entry `key` of `container` (nil when absent),
    /// read without a write; `.containerNotFound` when the index is gone.
    func entry(_ container: BackendContainer, _ key: String) async throws -> [UInt8]? {
        do {
            let page = try await pool.read(RadosLayout.index(container), RadosReadOperation([.omap(after: nil, prefix: key, max: 1)])).omap
            return page?.entries.first.flatMap { $0.key == key ? $0.value : nil }
        } catch let error as RadosError where error.code == .notFound {
            throw StorageError(.containerNotFound, "backend container \(container) does not exist")
        } catch {
            throw failure(error, "reading the index of \(container)")
        }
    }

    /// Sets (`value`) or removes (nil) index entry `key` of `container` in
    /// one write op on the index: only while the entry holds `expecting`
    /// when given (an absent entry compares as empty). Returns false when
    /// that comparison failed (nothing changed); `.containerNotFound` when
    /// the index is gone.
    @discardableResult
    func updateEntry(_ container: BackendContainer, _ key: String, expecting: [UInt8]?, set value: [UInt8]?) async throws -> Bool {
        var steps: [RadosWriteOperation.Step] = [.assertExists]
        if let expecting { steps.append(.compareOmap(key: key, value: expecting)) }
        steps.append(value.map { .setOmap([key: $0]) } ?? .removeOmapKeys([key]))
        do {
            try await pool.operate(RadosLayout.index(container), RadosWriteOperation(steps))
            return true
        } catch let error as RadosError where error.code == .comparisonFailed {
            return false
        } catch let error as RadosError where error.code == .notFound {
            throw StorageError(.containerNotFound, "backend container \(container) does not exist")
        } catch {
            throw failure(error, "updating the index of \(container)")
        }
    }

    /// Removes stripes (best effort, all in flight at once): whatever is
    /// left is garbage `collectGarbage` removes.
    func removeObjects(_ names: [String]) async {
        let pool = self.pool
        await withTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask { _ = try? await pool.operate(name, RadosWriteOperation([.remove])) }
            }
        }
    }
}
