/// Where sealed objects live: the one interface between the store (which
/// seals, names by keyed hash and checks everything it reads back) and the
/// medium that keeps the bytes (`LocalBackend`: a directory; a RADOS pool
/// later). Kept as small as kes's `KeyStore`: a handful of verbs on opaque
/// names.
///
/// What a backend sees: container ids and object names that are keyed hashes
/// (`BackendName`), and sealed bytes (docs/FORMAT.md). Never a clear name, a
/// metadata value, a key or plaintext; it needs none of them, and it cannot
/// check integrity (the store does, with the account key).
///
/// Concurrency contract: every verb is `async` and never blocks the
/// cooperative pool. A backend over blocking calls (files) runs them on
/// `BlockingIO`; one with asynchronous completions (librados aio) resumes
/// its continuation from the completion. Every verb is safe to call from any
/// number of tasks and processes at once; one `BackendUpload` or
/// `BackendObject` is used by one task at a time.
///
/// Atomicity and durability: an object is replaced or removed whole, never
/// partly visible; a verb returns only once its effect survives a crash of
/// this process and of the machine (for `local`: fdatasync, atomic rename,
/// directory fsync). Conditions (`WriteCondition`) are checked and applied as
/// one step: of two writers racing on one name with the same condition,
/// exactly one succeeds and the other gets `.conditionFailed`.
///
/// Errors are `StorageError`: `.containerNotFound`, `.notFound`,
/// `.alreadyExists` (a container), `.conditionFailed`, `.invalidArgument`
/// (a bad name, range or limit), `.io` (the medium failed; the message says
/// how, never with key material).
public protocol StorageBackend: Sendable {
    var kind: BackendKind { get }

    /// Creates an empty container; `.alreadyExists` when it is there.
    func createContainer(_ container: BackendContainer) async throws
    /// Removes an empty container (`.invalidArgument` "not empty" otherwise).
    func deleteContainer(_ container: BackendContainer) async throws

    /// Starts writing the whole of `name`; nothing is visible until
    /// `BackendUpload.commit`, which applies `condition` atomically.
    func beginPut(_ name: BackendName, condition: WriteCondition) async throws -> any BackendUpload
    /// `beginPut`, told what the caller saw under `name` before (`PutHint`:
    /// the version it opened and expects to replace, or that there was
    /// none): a backend that must read the current version to replace it
    /// (RADOS) may start from that instead (the condition is checked as
    /// always; a stale hint costs a read). The default ignores the hint.
    func beginPut(_ name: BackendName, condition: WriteCondition, hint: PutHint) async throws -> any BackendUpload
    /// `beginPut(_:condition:hint:)` of a version that the caller may
    /// later replace without looking at it (`PutHint.blind`): replacing it
    /// leaves nothing for the caller to clean up (the store's plain
    /// objects, not its block lists). The default ignores the mark.
    func beginPut(_ name: BackendName, condition: WriteCondition, hint: PutHint, blindReplaceable: Bool) async throws -> any BackendUpload
    /// The largest object (as appended) that a put with `PutHint.blind`
    /// can write; nil (the default): this backend does not replace blind,
    /// and the caller always says what it saw.
    var blindReplaceLimit: Int? { get }
    /// Opens the current version of `name` for reading (`.notFound`).
    func open(_ name: BackendName) async throws -> any BackendObject
    /// `open`, but nil when `name` is not there, without telling a missing
    /// object from a missing container (a put's probe of the version it
    /// replaces needs neither; RADOS saves a read of the container's index).
    /// The default calls `open`.
    func openIfPresent(_ name: BackendName) async throws -> (any BackendObject)?
    /// Size and version of the current version of `name` (`.notFound`).
    func stat(_ name: BackendName) async throws -> BackendObjectInfo
    /// Removes `name` (`.notFound` when it is not there); with
    /// `.mustMatch`, only while it is still that version.
    func delete(_ name: BackendName, condition: WriteCondition) async throws
    /// One page of the container's object names that start with `prefix`,
    /// in ascending byte order, after `continuation` (nil: from the start).
    func list(_ container: BackendContainer, prefix: String, continuation: String?, limit: Int) async throws -> BackendListPage

    // MARK: Record maps (small records: queue messages, indexes)

    /// Creates an empty record map; `.alreadyExists` when it is there.
    func createRecordMap(_ map: RecordMapName) async throws
    /// Removes a record map with all its records; `.notFound` when absent.
    func deleteRecordMap(_ map: RecordMapName) async throws
    /// Up to `limit` (1-1000) records with keys after `after` (nil: from
    /// the first), ascending by key bytes; `.notFound` for a missing map.
    func records(_ map: RecordMapName, after: String?, limit: Int) async throws -> RecordPage
    /// The records of `keys` that exist (1-1000 keys); `.notFound` for a missing map.
    func records(_ map: RecordMapName, keys: [String]) async throws -> [String: [UInt8]]
    /// The keys of `records(_:after:limit:)` without their values (a
    /// disk's written chunks). The default reads the records and drops the
    /// values; a backend that can list keys alone overrides it.
    func recordKeys(_ map: RecordMapName, after: String?, limit: Int) async throws -> (keys: [String], more: Bool)
    /// Applies `batch` (`RecordBatch.validated`) as one atomic, durable
    /// step: all its conditions hold and all its changes are made, or
    /// `.conditionFailed` and nothing changes; of two batches racing on one
    /// condition, exactly one succeeds. `.notFound` for a missing map.
    func apply(_ batch: RecordBatch, to map: RecordMapName) async throws
    /// A count that is the same on two calls only if nothing was committed
    /// to `map` between them (by any caller, process or host): what a
    /// caller read from the map after the first call is still current at
    /// the second. Nil when the backend cannot tell (the default): read
    /// again. `.notFound` for a missing map.
    func recordMapChangeCount(_ map: RecordMapName) async throws -> UInt64?
    /// Says the caller will not read `map` again soon: a backend that keeps
    /// something per map it read (`LocalBackend(readingOnly:)`: a private
    /// copy of the map) may drop it. The default does nothing.
    func doneReading(_ map: RecordMapName) async
}

/// An object being written (`StorageBackend.beginPut`).
public protocol BackendUpload: AnyObject, Sendable {
    /// Adds bytes at the end.
    func append(_ bytes: [UInt8]) async throws
    /// Adds a sealed buffer at the end. The store seals a whole object into
    /// one `AlignedBuffer` and appends it in one call: a backend can write it
    /// without copying (`local`: one `O_DIRECT` write when it is the first
    /// and large; RADOS: stripes cut from it, or, when it is the whole
    /// object, held until `commit` and handed to librados as it is). The
    /// buffer must not change until the upload is committed or aborted. The
    /// default copies it into `append(_: [UInt8])`.
    func append(_ buffer: AlignedBuffer) async throws
    /// Makes the object durable and visible under its name if the put's
    /// condition holds (`.conditionFailed` otherwise, and nothing changes);
    /// returns the new version.
    @discardableResult
    func commit() async throws -> BackendVersion
    /// Drops what was written; nothing becomes visible.
    func abort() async
}

/// What a put's caller saw under the name it writes (`StorageBackend.beginPut(_:condition:hint:)`).
public enum PutHint: Sendable {
    /// Nothing: the backend finds out itself.
    case unknown
    /// Nothing was there (`openIfPresent` returned nil).
    case absent
    /// This version was there, and the put expects to replace it.
    case replacing(any BackendObject)
    /// Nothing was looked at: the caller expects a version put with
    /// `blindReplaceable` to be there, and the backend replaces it without
    /// reading it (on RADOS one write op instead of a head read and a
    /// write). Only for condition `.none`, and only on a backend with a
    /// `blindReplaceLimit` the object fits in. When what is there is not
    /// such a version (another kind of put replaced it, it is striped, a
    /// release before this one wrote it) or nothing is there, the commit
    /// fails with `.conditionFailed` and changes nothing: the caller looks
    /// and puts again with what it saw.
    case blind
}

extension StorageBackend {
    /// Ignores the hint; `.blind`, which a backend without
    /// `blindReplaceLimit` cannot honour, fails as a blind replace that
    /// found no such version does.
    public func beginPut(_ name: BackendName, condition: WriteCondition, hint: PutHint) async throws -> any BackendUpload {
        if case .blind = hint { throw StorageError(.conditionFailed, "backend object \(name): this backend does not replace blind; nothing was written") }
        return try await beginPut(name, condition: condition)
    }

    public func beginPut(_ name: BackendName, condition: WriteCondition, hint: PutHint, blindReplaceable: Bool) async throws -> any BackendUpload {
        try await beginPut(name, condition: condition, hint: hint)
    }

    public var blindReplaceLimit: Int? { nil }

    public func openIfPresent(_ name: BackendName) async throws -> (any BackendObject)? {
        do {
            return try await open(name)
        } catch let error as StorageError where error.code == .notFound || error.code == .containerNotFound {
            return nil
        }
    }
}

extension StorageBackend {
    public func doneReading(_ map: RecordMapName) async {}
    public func recordMapChangeCount(_ map: RecordMapName) async throws -> UInt64? { nil }

    public func recordKeys(_ map: RecordMapName, after: String?, limit: Int) async throws -> (keys: [String], more: Bool) {
        let page = try await records(map, after: after, limit: limit)
        return (page.records.map(\.key), page.more)
    }
}

extension BackendUpload {
    public func append(_ buffer: AlignedBuffer) async throws { try await append(buffer.bytes) }
}

/// One version of an object, open for reading (`StorageBackend.open`).
/// Reads return that version's bytes, or fail with `.conditionFailed` once
/// it was replaced or removed (a backend that can pin a version, like
/// `local` with its open descriptor, keeps returning it); never a mix.
public protocol BackendObject: AnyObject, Sendable {
    var info: BackendObjectInfo { get }
    /// `count` bytes at `offset`; the range must lie within `info.size`.
    func read(at offset: UInt64, count: Int) async throws -> [UInt8]
}
