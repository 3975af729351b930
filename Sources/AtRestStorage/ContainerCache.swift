import Synchronization

/// Containers whose marker a store saw lately (`ObjectStore.requireContainer`):
/// a put, stage or read within `lifetime` of the last check skips the
/// marker read (a round trip on a networked backend).
///
/// Why a stale entry is harmless, across workers too: only markers seen are
/// cached, and this store forgets a container it deletes. Another worker's
/// delete removes the marker, then the backend container, which refuses
/// every later write (RADOS: the put's index op asserts the index exists;
/// an overwrite needs a live head, and a container with one is never
/// deleted; local: the directory is gone): a put on a stale entry gets
/// `.containerNotFound` from the backend (and the entry is dropped). What
/// remains is the race that exists without a cache too: a put landing
/// between the other worker's marker removal and its backend container
/// removal, which makes that delete fail as not empty. A read on a stale
/// entry answers "object not found" instead of "container not found" for
/// at most `lifetime`.
final class ContainerCache: Sendable {
    static let lifetime: Duration = .seconds(2)
    static let capacity = 4096
    private let seen = Mutex<[String: ContinuousClock.Instant]>([:])

    func contains(_ id: BackendContainer) -> Bool {
        let now = ContinuousClock.now
        return seen.withLock { seen in
            guard let at = seen[id.id] else { return false }
            if now - at < Self.lifetime { return true }
            seen[id.id] = nil
            return false
        }
    }

    func insert(_ id: BackendContainer) {
        let now = ContinuousClock.now
        seen.withLock { seen in
            if seen.count >= Self.capacity { seen.removeAll(keepingCapacity: true) }
            seen[id.id] = now
        }
    }

    func remove(_ id: BackendContainer) {
        _ = seen.withLock { $0.removeValue(forKey: id.id) }
    }
}
