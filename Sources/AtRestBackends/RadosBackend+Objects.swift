import AtRestRados
import AtRestStorage

extension RadosBackend {
    public func beginPut(_ name: BackendName, condition: WriteCondition) async throws -> any BackendUpload {
        RadosUpload(backend: self, name: name, condition: condition, seen: .unknown, blindReplaceable: false)
    }

    /// Objects up to one RADOS object (`singleObjectLimit`) can be replaced blind.
    public var blindReplaceLimit: Int? { singleObjectLimit }

    /// A put that starts from what the caller saw: the head `hint` was
    /// opened at (when it is this object's), so a replace needs no head
    /// read of its own; or no head, so a create reads none either.
    public func beginPut(_ name: BackendName, condition: WriteCondition, hint: PutHint) async throws -> any BackendUpload {
        try await beginPut(name, condition: condition, hint: hint, blindReplaceable: false)
    }

    /// `beginPut(_:condition:hint:)`, marking the head as one a later put
    /// may replace blind when `blindReplaceable` (and the object unstriped).
    public func beginPut(_ name: BackendName, condition: WriteCondition, hint: PutHint, blindReplaceable: Bool) async throws -> any BackendUpload {
        let seen: SeenHead
        switch hint {
        case .replacing(let opened as RadosObject) where opened.head == RadosLayout.head(name):
            seen = .head(RadosHead(version: opened.version, size: opened.info.size, record: opened.record))
        case .absent:
            seen = .absent
        case .blind where condition == .none:
            seen = .blind
        case .blind:
            throw StorageError(.invalidArgument, "a blind replace of \(name) takes no condition")
        default:
            seen = .unknown
        }
        return RadosUpload(backend: self, name: name, condition: condition, seen: seen, blindReplaceable: blindReplaceable)
    }

    /// Reads the head and the first `openPrefetch` bytes of its data in one
    /// op: the store's first read of an object (its header, and all of a
    /// small object) costs no second round trip.
    public func open(_ name: BackendName) async throws -> any BackendObject {
        guard let object = try await openIfPresent(name) else { throw await missing(name) }
        return object
    }

    /// `open` without the read of the container's index that tells a
    /// missing object from a missing container.
    public func openIfPresent(_ name: BackendName) async throws -> (any BackendObject)? {
        try await currentHead(RadosLayout.head(name), prefetch: Self.openPrefetch).map { RadosObject(backend: self, head: RadosLayout.head(name), state: $0) }
    }

    public func stat(_ name: BackendName) async throws -> BackendObjectInfo {
        guard let head = try await currentHead(name) else { throw await missing(name) }
        return BackendObjectInfo(size: head.size, version: BackendVersion(String(head.version)))
    }

    /// Removes the head with assert_version on the version just read (so
    /// `.mustMatch` is checked and applied as one step; `.none` retries on
    /// a race), then its stripes, then its index entry only while the entry
    /// still holds the value the removed head records (a racing put's entry stays); those
    /// two run together.
    public func delete(_ name: BackendName, condition: WriteCondition) async throws {
        guard condition != .mustNotExist else { throw StorageError(.invalidArgument, "a delete cannot require that the object does not exist") }
        let headName = RadosLayout.head(name)
        while true {
            guard let current = try await currentHead(name) else { throw await missing(name) }
            if case .mustMatch(let expected) = condition, expected.rawValue != String(current.version) {
                throw StorageError(.conditionFailed, "backend object \(name) is at another version; nothing was deleted")
            }
            do {
                try await pool.operate(headName, RadosWriteOperation([.assertVersion(current.version), .remove]))
            } catch let error as RadosError where error.code == .versionMismatch || error.code == .notFound {
                if condition == .none { continue }
                throw StorageError(.conditionFailed, "backend object \(name) changed while it was being deleted; nothing was deleted")
            } catch {
                throw failure(error, "deleting \(name)")
            }
            async let entry = try? updateEntry(name.container, name.object, expecting: Array(current.record.entry.utf8), set: nil)
            await removeObjects(current.record.stripeNames(headName))
            _ = await entry
            return
        }
    }
}
