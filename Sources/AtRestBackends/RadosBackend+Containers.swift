import AtRestRados
import AtRestStorage

extension RadosBackend {
    /// Records the container in its parent's index first (creating the
    /// parent's index if needed, as `mkdir -p` would), then creates its own
    /// index exclusively: a container is never without its parent's entry.
    public func createContainer(_ container: BackendContainer) async throws {
        try await mapping("creating container \(container)") {
            if let (parent, component) = RadosLayout.parent(container) {
                try await pool.operate(RadosLayout.index(parent), RadosWriteOperation([.setOmap([component: RadosLayout.containerEntry()])]))
            }
            do {
                try await pool.operate(RadosLayout.index(container), RadosWriteOperation([.create(exclusive: true)]))
            } catch let error as RadosError where error.code == .alreadyExists {
                throw StorageError(.alreadyExists, "backend container \(container) already exists")
            }
        }
    }

    /// Removes the index when no entry of it names a live object or child
    /// container, with assert_version on the index: a put sets its entry
    /// before its head, so a put racing this delete changes the version and
    /// the removal fails (and is retried, then refused as not empty).
    public func deleteContainer(_ container: BackendContainer) async throws {
        let index = RadosLayout.index(container)
        try await mapping("deleting container \(container)") {
            while true {
                let (version, live) = try await liveEntry(container)
                if let live { throw StorageError(.invalidArgument, "backend container \(container) is not empty (it holds \(live))") }
                do {
                    try await pool.operate(index, RadosWriteOperation([.assertVersion(version), .remove]))
                    break
                } catch let error as RadosError where error.code == .versionMismatch {
                    continue
                }
            }
            if let (parent, component) = RadosLayout.parent(container) {
                _ = try? await updateEntry(parent, component, expecting: nil, set: nil)
            }
        }
    }

    /// The index version and the first entry that names something that
    /// exists (stale entries, whose head is gone, do not count).
    private func liveEntry(_ container: BackendContainer) async throws -> (version: UInt64, live: String?) {
        let index = RadosLayout.index(container)
        var after: String?
        var version: UInt64?
        while true {
            let result: RadosReadResult
            do {
                var steps: [RadosReadOperation.Step] = [.omap(after: after, prefix: "", max: 500)]
                if let version { steps.insert(.assertVersion(version), at: 0) }
                result = try await pool.read(index, RadosReadOperation(steps))
            } catch let error as RadosError where error.code == .notFound {
                throw StorageError(.containerNotFound, "backend container \(container) does not exist")
            } catch let error as RadosError where error.code == .versionMismatch {
                (after, version) = (nil, nil)
                continue
            }
            version = result.version
            let page = result.omap ?? RadosOmapPage(entries: [], more: false)
            for (key, value) in page.entries {
                let child = try BackendContainer("\(container.id)/\(key)")
                let isContainer = value.starts(with: Array("container ".utf8))
                if isContainer ? try await containerExists(child) : try await currentHead(try BackendName(container, key)) != nil {
                    return (result.version, key)
                }
            }
            guard page.more, let last = page.entries.last else { return (result.version, nil) }
            after = last.key
        }
    }

    /// One page of the container's index: object names and child
    /// container components, ascending. May include a stale name whose head
    /// is gone (after a crash or a race; the store skips `.notFound`).
    /// OSDs cap the entries of one omap read (osd_max_omap_entries_per_request),
    /// so a page takes as many reads as it needs to hold `limit` names.
    public func list(_ container: BackendContainer, prefix: String, continuation: String?, limit: Int) async throws -> BackendListPage {
        guard limit > 0 else { throw StorageError(.invalidArgument, "list limit must be positive") }
        var names: [String] = []
        var after = continuation
        while true {
            let page: RadosOmapPage
            do {
                let step = RadosReadOperation.Step.omap(after: after, prefix: prefix, max: limit - names.count)
                page = try await pool.read(RadosLayout.index(container), RadosReadOperation([step])).omap ?? RadosOmapPage(entries: [], more: false)
            } catch let error as RadosError where error.code == .notFound {
                throw StorageError(.containerNotFound, "backend container \(container) does not exist")
            } catch {
                throw failure(error, "listing \(container)")
            }
            names += page.entries.map(\.key)
            guard page.more, let last = names.last else { return BackendListPage(names: names, continuation: nil) }
            if names.count >= limit { return BackendListPage(names: names, continuation: last) }
            after = last
        }
    }
}

extension RadosBackend {
    /// The containers with no parent (`a-<id>` of the store, `registry`):
    /// those whose index object names no parent. Lists the whole pool, so
    /// it is for maintenance and offline recovery, never for serving.
    public func topLevelContainers() async throws -> [String] {
        try await mapping("listing the containers of pool \(pool.name)") {
            try await pool.objectNames().compactMap { name -> String? in
                guard name.hasSuffix("/.index") else { return nil }
                let container = String(name.dropLast("/.index".count))
                return container.contains("/") ? nil : container
            }.sorted()
        }
    }
}
