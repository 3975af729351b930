import AtRestCrypto
import AtRestMessaging
import AtRestWire

/// Typed calls to `atrest.v1.Blob/*` of one account, through the front door.
///
/// Small calls map one to one onto the service; `upload`/`download`
/// (BlobClient+Transfer.swift) move data of any size with staged blocks and
/// ranged reads in parallel, hashing what `options.checksum` asks for.
public struct BlobClient: Sendable {
    public let base: ServiceClient
    public let account: String
    public var options: BlobTransferOptions
    /// A customer-provided key sent with every put, get, properties and
    /// metadata call (`CustomerProvidedKey.make`); nil: none.
    public var encryptionKey: CustomerProvidedKey?

    public init(_ base: ServiceClient, account: String, options: BlobTransferOptions = .init(),
                encryptionKey: CustomerProvidedKey? = nil) {
        self.base = base
        self.account = account
        self.options = options
        self.encryptionKey = encryptionKey
    }

    // MARK: containers

    /// Creates a container; with `defaultScope`, writes naming no scope use
    /// that encryption scope, and with `enforceScope` writes naming another are refused.
    public func createContainer(_ container: String, defaultScope: String = "", enforceScope: Bool = false) async throws {
        _ = try await call(BlobMethod.createContainer, ContainerRequest(container: container, defaultScope: defaultScope, enforceScope: enforceScope))
    }

    /// One page of `container` rewritten under the account's current account key version (owner).
    public func reencrypt(_ container: String, pageToken: String = "", maxObjects: UInt32 = 0) async throws -> BlobReencryptResponse {
        try await call(BlobMethod.reencrypt, BlobReencryptRequest(container: container, pageToken: pageToken, maxObjects: maxObjects)).message
    }

    public func listContainers() async throws -> [String] {
        try await call(BlobMethod.listContainers, EmptyMessage(), idempotent: true).message.containers
    }

    /// Deletes an empty container, or with `force` the blobs in it too.
    public func deleteContainer(_ container: String, force: Bool = false) async throws {
        _ = try await call(BlobMethod.deleteContainer, ContainerRequest(container: container, force: force))
    }

    // MARK: blobs

    /// One `Put` of `data` (must fit one message; `upload` handles any size).
    /// With a `checksum` other than `.none` it sends the SHA-256, which the
    /// worker verifies, and checks the echo.
    public func put(_ container: String, _ name: String, data: [UInt8], contentType: String = "",
                    metadata: [String: String] = [:]) async throws -> BlobProperties {
        var metadata = metadata
        var hash: [UInt8] = []
        if options.checksum != .none {
            hash = try SHA256Digest.of(data)
            if options.checksum == .wholeContent { metadata[BlobTransferOptions.contentHashKey] = Hex.encode(hash) }
        }
        var request = BlobPutRequest(container: container, name: name, contentType: contentType, metadata: metadata, contentHash: hash,
                                     encryptionKey: encryptionKey)
        request.scope = options.scope
        let reply = try await call(BlobMethod.put, request, parts: data.isEmpty ? [] : [PayloadPart(data)],
                                   idempotencyKey: try Self.randomKey()).message
        guard reply.contentHash == hash, reply.length == UInt64(data.count) else {
            throw RPCStatus(.dataLoss, "the service stored '\(name)' with a different hash or length than sent")
        }
        return reply
    }

    /// One `Get`, whole or a range (a whole blob must fit one reply).
    public func get(_ container: String, _ name: String, range: Range<UInt64>? = nil) async throws -> (BlobProperties, offset: UInt64, data: [UInt8]) {
        let reply = try await getParts(container, name, range: range)
        return (reply.properties, reply.offset, reply.parts.joined())
    }

    /// One `Get` whose bytes stay in the frames they arrived in (no copy).
    func getParts(_ container: String, _ name: String, range: Range<UInt64>?) async throws
        -> (properties: BlobProperties, offset: UInt64, parts: [PayloadPart])
    {
        let reply = try await call(BlobMethod.get, BlobGetRequest(container: container, name: name, range: range, encryptionKey: encryptionKey),
                                   idempotent: true)
        return (reply.message.properties, reply.message.offset, reply.parts)
    }

    public func properties(_ container: String, _ name: String) async throws -> BlobProperties {
        try await call(BlobMethod.getProperties, BlobRequest(container: container, name: name, encryptionKey: encryptionKey),
                       idempotent: true).message
    }

    /// Replaces the user metadata (and the content type when given). The
    /// content hash entry is kept unless `metadata` names it.
    public func setMetadata(_ container: String, _ name: String, _ metadata: [String: String],
                            contentType: String? = nil) async throws -> BlobProperties {
        var metadata = metadata
        if metadata[BlobTransferOptions.contentHashKey] == nil,
           let hash = try await properties(container, name).metadata[BlobTransferOptions.contentHashKey] {
            metadata[BlobTransferOptions.contentHashKey] = hash
        }
        return try await call(BlobMethod.setMetadata,
                              BlobSetMetadataRequest(container: container, name: name, metadata: metadata, contentType: contentType,
                                                     encryptionKey: encryptionKey)).message
    }

    /// One page of a listing.
    public func list(_ container: String, prefix: String = "", pageToken: String = "", maxResults: UInt32 = 0) async throws
        -> BlobListResponse
    {
        try await call(BlobMethod.list, BlobListRequest(container: container, prefix: prefix, pageToken: pageToken, maxResults: maxResults),
                       idempotent: true).message
    }

    /// Every blob under `prefix`, following page tokens, with the damaged
    /// objects the first page reported (`damagedCount`, `damagedIDs`).
    public func listAll(_ container: String, prefix: String = "") async throws -> BlobListResponse {
        var all = BlobListResponse(blobs: [])
        var token = ""
        repeat {
            let page = try await list(container, prefix: prefix, pageToken: token)
            all.blobs += page.blobs
            if token.isEmpty {
                all.damagedCount = page.damagedCount
                all.damagedIDs = page.damagedIDs
            }
            token = page.nextPageToken
        } while !token.isEmpty
        return all
    }

    public func delete(_ container: String, _ name: String) async throws {
        _ = try await call(BlobMethod.delete, BlobRequest(container: container, name: name))
    }

    // MARK: plumbing

    /// Calls with the token and the account in the header.
    func call<Request: WireMessage, Reply: WireMessage>(
        _ method: RPCMethod<Request, Reply>, _ request: Request, parts: [PayloadPart] = [], idempotent: Bool = false,
        idempotencyKey: String = ""
    ) async throws -> RPCReply<Reply> {
        var metadata = ["account": account]
        if let token = base.bearerToken { metadata["authorization"] = "Bearer \(token)" }
        return try await base.rpc.call(method.name, request: request, as: Reply.self, parts: parts, timeout: base.timeout,
                                       metadata: metadata, idempotent: idempotent, idempotencyKey: idempotencyKey)
    }

    static func randomKey() throws -> String { Hex.encode(try SHA256Digest.random(16)) }
}

extension CustomerProvidedKey {
    /// A customer-provided key from its 32 bytes, with the SHA-256 the service checks.
    public static func make(key: [UInt8]) throws -> CustomerProvidedKey {
        guard key.count == 32 else { throw RPCStatus(.invalidArgument, "a customer-provided key must be 32 bytes (AES-256), got \(key.count)") }
        return CustomerProvidedKey(key: key, keySHA256: try SHA256Digest.of(key))
    }
}

extension CustomerProvidedKey {
    /// A key file's contents: 32 raw bytes, or 64 hex digits (trailing
    /// newlines ignored); nil when it is neither.
    public static func make(fileContents bytes: [UInt8]) throws -> CustomerProvidedKey? {
        if bytes.count == 32 { return try make(key: bytes) }
        var text = bytes[...]
        while let last = text.last, last == 0x0a || last == 0x0d { text.removeLast() }
        guard text.count == 64, var key = Hex.decode(String(decoding: text, as: UTF8.self)) else { return nil }
        defer { key.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        return try make(key: key)
    }
}
