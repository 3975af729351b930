import AtRestRados
import AtRestStorage

/// One version of a `RadosBackend` object, open for reading. An unstriped
/// object is read with assert_version in the same op, a striped one from
/// the stripes of the upload its head named (stripes are never rewritten,
/// and are removed once their head is replaced or deleted): either way a
/// read returns that version's bytes or fails with `.conditionFailed`,
/// never a mix of versions.
final class RadosObject: BackendObject {
    let info: BackendObjectInfo
    private let backend: RadosBackend
    let head: String
    let version: UInt64
    let record: HeadRecord
    /// The first bytes of this version, read when it was opened.
    private let prefix: [UInt8]

    init(backend: RadosBackend, head: String, state: RadosHead) {
        self.backend = backend
        self.head = head
        version = state.version
        record = state.record
        prefix = state.prefix
        info = BackendObjectInfo(size: state.size, version: BackendVersion(String(state.version)))
    }

    func read(at offset: UInt64, count: Int) async throws -> [UInt8] {
        guard count >= 0, offset <= info.size, UInt64(count) <= info.size - offset else {
            throw StorageError(.invalidArgument, "range \(offset)..<\(offset + UInt64(max(count, 0))) is outside the object (size \(info.size))")
        }
        guard count > 0 else { return [] }
        if offset + UInt64(count) <= UInt64(prefix.count) { return Array(prefix[Int(offset)..<Int(offset) + count]) }
        let bytes: [UInt8]
        do {
            bytes = record.stripes == 0 ? try await readHead(at: offset, count: count) : try await readStripes(at: offset, count: count)
        } catch let error as RadosError where error.code == .versionMismatch || error.code == .notFound {
            throw StorageError(.conditionFailed, "backend object \(head) was replaced or removed since it was opened (version \(version))")
        } catch {
            throw backend.failure(error, "reading \(head)")
        }
        guard bytes.count == count else { throw StorageError(.io, "backend object \(head) ended early: \(bytes.count) of \(count) bytes at \(offset)") }
        return bytes
    }

    private func readHead(at offset: UInt64, count: Int) async throws -> [UInt8] {
        try await backend.pool.read(head, RadosReadOperation([.assertVersion(version), .read(offset: offset, length: count)])).data
    }

    /// The range as one read per stripe it touches, all in flight at once.
    private func readStripes(at offset: UInt64, count: Int) async throws -> [UInt8] {
        let stripeSize = UInt64(record.stripeSize)
        var pieces: [(object: String, offset: UInt64, count: Int)] = []
        var position = offset
        let end = offset + UInt64(count)
        while position < end {
            let within = position % stripeSize
            let length = min(end - position, stripeSize - within)
            pieces.append((RadosLayout.stripe(head, upload: record.upload, Int(position / stripeSize)), within, Int(length)))
            position += length
        }
        let pool = backend.pool
        let parts = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for (index, piece) in pieces.enumerated() {
                group.addTask { (index, try await pool.read(piece.object, offset: piece.offset, length: piece.count)) }
            }
            return try await group.reduce(into: [Int: [UInt8]]()) { $0[$1.0] = $1.1 }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for index in pieces.indices { bytes += parts[index] ?? [] }
        return bytes
    }
}
