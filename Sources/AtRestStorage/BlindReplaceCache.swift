import Synchronization

/// Objects this store put lately as plain objects marked blind-replaceable
/// (`ObjectStore.put` on a backend with a `blindReplaceLimit`): the next
/// put of one replaces it blind (`PutHint.blind`), without the probe of
/// the version it replaces, which on RADOS is a head read in series with
/// the write.
///
/// Why a stale entry is harmless: the backend checks the mark itself, in
/// the same op as the write. If another worker replaced the name with a
/// block list, a striped object or nothing (a delete), the blind write
/// fails `.conditionFailed` and changes nothing; the put drops the entry
/// and takes the probed path, so a stale entry costs one refused write op.
/// Names only (keyed hashes), no key material. Emptied when it reaches
/// `capacity` (16,384 names, about 2.5 MB: the names worth it are the ones
/// put again soon, and a worker's memory stays well under its bound).
final class BlindReplaceCache: Sendable {
    static let capacity = 16_384
    private let names = Mutex<Set<BackendName>>([])

    func contains(_ name: BackendName) -> Bool { names.withLock { $0.contains(name) } }

    func insert(_ name: BackendName) {
        names.withLock { names in
            if names.count >= Self.capacity, !names.contains(name) { names.removeAll(keepingCapacity: true) }
            names.insert(name)
        }
    }

    func remove(_ name: BackendName) {
        _ = names.withLock { $0.remove(name) }
    }
}
