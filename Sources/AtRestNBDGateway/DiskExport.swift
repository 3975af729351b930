import AtRestClient
import AtRestLocalState
import AtRestMessaging
import AtRestNBD
import AtRestWire

/// An AtRest disk served over NBD: every NBD request becomes `DiskClient`
/// calls through the front door (reads and writes split at 4 MiB,
/// `DiskMethod.maxIO`), with the caller's token fresh for each call.
///
/// Durability: the store acknowledges a page write only once it is durable
/// (docs/FORMAT.md "Disks"), so a WRITE is answered once durable and FLUSH
/// (and FUA) have nothing left to do. Writes under `batchedWriteLimit`
/// that are in flight together go to the service several per call
/// (`WriteBatcher`, PutPageRanges), each still answered once durable.
/// Several connections (and several gateways) see one store, so
/// CAN_MULTI_CONN holds.
///
/// Errors map to NBD errnos: PERMISSION_DENIED/UNAUTHENTICATED → EPERM;
/// INVALID_ARGUMENT/OUT_OF_RANGE → EINVAL; RESOURCE_EXHAUSTED → ENOSPC;
/// everything else (UNAVAILABLE, a revoked key, NOT_FOUND for a deleted
/// disk, DATA_LOSS for a chunk that fails its integrity check) → EIO.
public struct DiskExport: NBDExport {
    /// "ACCOUNT/DISK", as given to `--export`.
    public let name: String
    public let account: String
    public let disk: String
    public let isReadOnly: Bool
    private let client: DiskClient
    private let session: GatewaySession
    private let batcher: WriteBatcher?

    /// Writes smaller than this go through the batcher; larger ones are calls of their own.
    public static let batchedWriteLimit = 256 << 10
    /// Calls of batched writes in flight at once per export (over all its connections).
    public static let defaultBatchCalls = 2

    public var minimumBlockSize: UInt32 { 512 }
    public var preferredBlockSize: UInt32 { 4096 }
    public var canMultiConn: Bool { true }

    /// Parses "ACCOUNT/DISK" (exactly one slash, both parts non-empty).
    public static func parseName(_ text: String) throws(NBDGatewayError) -> (account: String, disk: String) {
        let parts = SlashPath.split(text, omittingEmpty: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw NBDGatewayError("export '\(text)' is not ACCOUNT/DISK")
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// - Parameter batchCalls: calls of gathered small writes in flight at
    ///   once (`WriteBatcher`); 0 sends every write as a call of its own.
    public init(account: String, disk: String, readOnly: Bool = false, session: GatewaySession, batchCalls: Int = DiskExport.defaultBatchCalls) {
        name = "\(account)/\(disk)"
        self.account = account
        self.disk = disk
        isReadOnly = readOnly
        self.session = session
        let client = DiskClient(session.client, account: account)
        self.client = client
        guard batchCalls > 0 else {
            batcher = nil
            return
        }
        let name = name
        batcher = WriteBatcher(
            maxCalls: batchCalls, maxBytes: DiskMethod.maxIO, maxRanges: DiskMethod.maxRanges,
            // Its errors are never an answer (the writes are sent again alone): kept as the service gave them.
            sendMany: { writes in try await session.withToken { try await client.putPageRanges(disk, writes) } },
            sendOne: { write in try await Self.call(name, session) { try await client.putPages(disk, offset: write.offset, data: write.data) } },
            isUnimplemented: { ($0 as? RPCStatus)?.code == .unimplemented })
    }

    public var size: UInt64 {
        get async throws { try await call { try await client.properties(disk).size } }
    }

    public func read(offset: UInt64, length: Int) async throws -> [UInt8] {
        let pieces = Self.pieces(offset: offset, length: UInt64(length))
        if pieces.count == 1 { return try await call { try await client.getPages(disk, offset: offset, length: length) } }
        var result = [UInt8](repeating: 0, count: length)
        try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for (index, piece) in pieces.enumerated() {
                group.addTask { (index, try await call { try await client.getPages(disk, offset: piece.offset, length: Int(piece.length)) }) }
            }
            for try await (index, bytes) in group {
                // A short or long piece would shift or hide data: the server answers EIO instead.
                guard bytes.count == Int(pieces[index].length) else {
                    throw NBDError(.io, "disk '\(name)' returned \(bytes.count) bytes for a read of \(pieces[index].length)")
                }
                let start = Int(pieces[index].offset - offset)
                result.replaceSubrange(start ..< start + bytes.count, with: bytes)
            }
        }
        return result
    }

    public func write(offset: UInt64, data: [UInt8]) async throws {
        if let batcher, data.count < Self.batchedWriteLimit { return try await batcher.write(offset: offset, data: data) }
        let pieces = Self.pieces(offset: offset, length: UInt64(data.count))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for piece in pieces {
                let start = Int(piece.offset - offset)
                let bytes = pieces.count == 1 ? data : Array(data[start ..< start + Int(piece.length)])
                group.addTask { try await call { try await client.putPages(disk, offset: piece.offset, data: bytes) } }
            }
            try await group.waitForAll()
        }
    }

    /// Nothing to do: every acknowledged write is already durable.
    public func flush() async throws {}

    /// Clears the pages: they read back as zeros and their storage is released.
    public func trim(offset: UInt64, length: UInt64) async throws {
        try await call { try await client.clearPages(disk, offset: offset, length: length) }
    }

    /// Clearing pages is writing zeros (they read back as zeros); NO_HOLE
    /// is a hint and cleared pages take no storage either way.
    public func writeZeroes(offset: UInt64, length: UInt64) async throws {
        try await trim(offset: offset, length: length)
    }

    /// [offset, offset + length) cut into calls of at most `DiskMethod.maxIO`.
    static func pieces(offset: UInt64, length: UInt64) -> [(offset: UInt64, length: UInt64)] {
        stride(from: UInt64(0), to: length, by: DiskMethod.maxIO).map { start in
            (offset + start, min(UInt64(DiskMethod.maxIO), length - start))
        }
    }

    /// Runs a disk call with a fresh token; maps its failure to an `NBDError`.
    private func call<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await Self.call(name, session, body)
    }

    private static func call<T: Sendable>(_ name: String, _ session: GatewaySession, _ body: () async throws -> T) async throws -> T {
        do {
            return try await session.withToken(body)
        } catch let status as RPCStatus {
            throw NBDError(errnoCode(status.code), "disk '\(name)': \(status)")
        }
    }

    static func errnoCode(_ code: StatusCode) -> NBDError.Code {
        switch code {
        case .permissionDenied, .unauthenticated: .permission
        case .invalidArgument, .outOfRange: .invalid
        case .resourceExhausted: .noSpace
        default: .io
        }
    }
}

/// The gateway's errors (flags, exports that cannot be served).
public struct NBDGatewayError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
