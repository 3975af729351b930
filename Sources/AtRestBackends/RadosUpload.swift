import AtRestRados
import AtRestStorage

/// A `RadosBackend` put. Bytes up to one stripe stay in memory and become
/// the head's data at commit; beyond that, each full stripe is written as
/// its own RADOS object under this upload's unique id while later appends
/// continue (up to `RadosBackend.stripesInFlight` writes in flight), so a
/// large put streams. Nothing is visible before `commit`; `abort` (or a
/// commit refused by its condition) removes the stripes written; a commit
/// failing otherwise leaves them to `collectGarbage`, since its head write
/// may have happened.
///
/// Unchecked: `BackendUpload`'s contract is one task at a time.
final class RadosUpload: BackendUpload, @unchecked Sendable {
    private let backend: RadosBackend
    private let name: BackendName
    private let condition: WriteCondition
    /// What the caller saw under the name (a hint).
    private let seen: SeenHead
    /// The head may be replaced blind later (`PutHint.blind`), if unstriped.
    private let blindReplaceable: Bool
    private let upload = UploadID.make()
    private let head: String
    private var buffer: [UInt8] = []
    /// A sealed buffer appended whole (the store's usual put), held as it
    /// is and handed to librados at commit without a copy into `buffer`.
    private var whole: AlignedBuffer?
    private var size: UInt64 = 0
    /// Stripes started (written or in flight).
    private var stripes = 0
    private var inFlight: [Task<Void, any Error>] = []
    private var finished = false

    init(backend: RadosBackend, name: BackendName, condition: WriteCondition, seen: SeenHead, blindReplaceable: Bool) {
        self.backend = backend
        self.name = name
        self.condition = condition
        self.seen = seen
        self.blindReplaceable = blindReplaceable
        head = RadosLayout.head(name)
    }

    /// An upload dropped without commit or abort (its caller failed or was
    /// cancelled) removes its stripes in the background, once their writes end.
    deinit {
        guard !finished, stripes > 0 else { return }
        let (backend, tasks) = (backend, inFlight)
        let names = (0..<stripes).map { RadosLayout.stripe(head, upload: upload, $0) }
        Task {
            for task in tasks { _ = try? await task.value }
            await backend.removeObjects(names)
        }
    }

    private func checkOpen() throws {
        if finished { throw StorageError(.invalidArgument, "upload of \(name) was already committed or aborted") }
    }

    func append(_ bytes: [UInt8]) async throws {
        try checkOpen()
        try await spillWhole()
        // A whole object in one append (how the store writes) up to the
        // single-object limit stays one RADOS object.
        if stripes == 0, buffer.isEmpty, bytes.count <= backend.singleObjectLimit {
            size += UInt64(bytes.count)
            buffer = bytes
            return
        }
        if buffer.count > backend.stripeSize {
            // More follows what was held as a whole object: stripe it after all.
            let held = buffer
            buffer = []
            size -= UInt64(held.count)
            try await appendStriped(held)
        }
        try await appendStriped(bytes)
    }

    func append(_ buffer: AlignedBuffer) async throws {
        try checkOpen()
        if stripes == 0, self.buffer.isEmpty, whole == nil, buffer.count <= backend.singleObjectLimit {
            size += UInt64(buffer.count)
            whole = buffer
            return
        }
        try await append(buffer.withUnsafeBytes { Array($0) })
    }

    /// More follows a buffer held whole: it goes the way of any other bytes.
    private func spillWhole() async throws {
        guard let held = whole else { return }
        whole = nil
        size -= UInt64(held.count)
        try await append(held.withUnsafeBytes { Array($0) })
    }

    private func appendStriped(_ bytes: [UInt8]) async throws {
        size += UInt64(bytes.count)
        let stripeSize = backend.stripeSize
        var offset = 0
        // Keep at most one stripe buffered: an object of exactly one stripe stays unstriped.
        while buffer.count + (bytes.count - offset) > stripeSize {
            let take = stripeSize - buffer.count
            buffer += bytes[offset..<offset + take]
            offset += take
            let stripe = buffer
            buffer = []
            try await write(stripe)
        }
        buffer += bytes[offset...]
    }

    /// Starts the aio write of the next stripe, first waiting for the oldest
    /// when enough are in flight.
    private func write(_ stripe: [UInt8]) async throws {
        if inFlight.count >= RadosBackend.stripesInFlight {
            try await backend.mapping("writing a stripe of \(name)") { try await inFlight.removeFirst().value }
        }
        let object = RadosLayout.stripe(head, upload: upload, stripes)
        stripes += 1
        let pool = backend.pool
        inFlight.append(Task { try await pool.writeFull(object, stripe) })
    }

    func commit() async throws -> BackendVersion {
        try checkOpen()
        finished = true
        do {
            let record: HeadRecord
            var data: RadosBytes = []
            if stripes == 0 {
                record = HeadRecord(upload: upload, size: size, stripeSize: 0, stripes: 0)
                data = whole.map { RadosBytes(SealedBytes($0)) } ?? RadosBytes(buffer)
            } else {
                if !buffer.isEmpty { try await write(buffer) }
                record = HeadRecord(upload: upload, size: size, stripeSize: backend.stripeSize, stripes: stripes)
            }
            buffer = []
            whole = nil
            try await backend.mapping("writing the stripes of \(name)") {
                for task in inFlight { try await task.value }
            }
            inFlight = []
            if case .blind = seen {
                // Only an unstriped object replaces blind (its caller keeps to `blindReplaceLimit`).
                guard stripes == 0 else { throw RadosBackend.conditionFailed(name, "is too large to replace blind") }
                return try await backend.replaceBlind(name, record: record, data: data)
            }
            return try await backend.commit(name, condition: condition, record: record, data: data, seen: seen,
                                            blindReplaceable: blindReplaceable)
        } catch let error as StorageError where error.code == .conditionFailed || error.code == .containerNotFound {
            await discard()
            throw error
        } catch {
            // The head write may have happened (a timeout, a lost reply): its
            // stripes stay; if no head names them, the collector removes them.
            for task in inFlight { _ = try? await task.value }
            inFlight = []
            throw error
        }
    }

    func abort() async {
        guard !finished else { return }
        finished = true
        await discard()
    }

    /// Waits for writes in flight, then removes every stripe started.
    private func discard() async {
        for task in inFlight { _ = try? await task.value }
        inFlight = []
        buffer = []
        whole = nil
        await backend.removeObjects((0..<stripes).map { RadosLayout.stripe(head, upload: upload, $0) })
    }
}

/// A sealed buffer as bytes librados reads from directly.
private final class SealedBytes: RadosByteSource {
    let buffer: AlignedBuffer
    init(_ buffer: AlignedBuffer) { self.buffer = buffer }
    var count: Int { buffer.count }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try buffer.withUnsafeBytes(body) }
}
