import AtRestClient
import AtRestLocalState
import AtRestNBDGateway
import AtRestWire

/// `ShareFileService` over `FileClient`: one share of one account through
/// the front door, every call with a current token from the session (a
/// `--user` login renewed before it expires, as `atrest disk serve` does)
/// and at most `GatewaySession.maxCalls` in flight.
public struct ShareFileClient: ShareFileService {
    public let account: String
    public let share: String
    private let client: FileClient
    private let session: GatewaySession

    public init(account: String, share: String, session: GatewaySession) {
        self.account = account
        self.share = share
        self.session = session
        client = FileClient(session.client, account: account)
    }

    /// Parses "ACCOUNT/SHARE" (exactly one slash, both parts non-empty).
    public static func parseName(_ text: String) -> (account: String, share: String)? {
        let parts = SlashPath.split(text, omittingEmpty: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    public var shareName: String { "\(account)/\(share)" }

    /// `body` with a valid token (renewed when it expires); callers that
    /// only need the call to succeed drop the properties it returns.
    @discardableResult
    private func run<T>(_ body: (FileClient) async throws -> T) async throws -> T {
        try await session.withToken { try await body(client) }
    }

    static func entry(_ properties: FileProperties) -> ShareEntry {
        ShareEntry(name: properties.name, isDirectory: properties.isDirectory, size: properties.size, mode: properties.mode,
                   ctimeMs: properties.ctimeMs, mtimeMs: properties.mtimeMs)
    }

    public func stat(_ path: String) async throws -> ShareEntry {
        Self.entry(try await run { try await $0.properties(share, path) })
    }

    public func list(_ path: String) async throws -> [ShareEntry] {
        try await run { try await $0.listAll(share, path) }.map(Self.entry)
    }

    public func createFile(_ path: String, mode: UInt32, mtimeMs: Int64?) async throws -> ShareEntry {
        // Mode 0 on the wire means "the default": a file created 0 keeps no bits by setting them afterwards.
        let created = try await run { try await $0.createFile(share, path, mode: mode, mtimeMs: mtimeMs) }
        guard mode == 0 else { return Self.entry(created) }
        return Self.entry(try await run { try await $0.setMode(share, path, mode: 0) })
    }

    public func createFile(_ path: String, mode: UInt32, data: [UInt8], mtimeMs: Int64?) async throws -> ShareEntry {
        let created = try await run { try await $0.createFile(share, path, data: data, mode: mode, mtimeMs: mtimeMs) }
        guard mode == 0 else { return Self.entry(created) }
        return Self.entry(try await run { try await $0.setMode(share, path, mode: 0) })
    }

    public func createDirectory(_ path: String, mode: UInt32) async throws {
        try await run { try await $0.createDirectory(share, path, mode: mode) }
        if mode == 0 { try await run { try await $0.setMode(share, path, mode: 0) } }
    }

    public func read(_ path: String, offset: UInt64, length: Int) async throws -> [UInt8] {
        try await run { try await $0.readFile(share, path, offset: offset, length: length) }
    }

    public func write(_ path: String, offset: UInt64, data: [UInt8]) async throws {
        try await run { try await $0.writeFile(share, path, offset: offset, data: data) }
    }

    public func resize(_ path: String, size: UInt64) async throws {
        try await run { try await $0.resizeFile(share, path, size: size) }
    }

    public func flush(_ path: String) async throws {
        try await run { try await $0.flushFile(share, path) }
    }

    public func deleteFile(_ path: String) async throws {
        try await run { try await $0.deleteFile(share, path) }
    }

    public func deleteDirectory(_ path: String) async throws {
        try await run { try await $0.deleteDirectory(share, path) }
    }

    public func rename(_ from: String, to: String, replace: Bool) async throws {
        try await run { try await $0.rename(share, from: from, to: to, replace: replace) }
    }

    public func exchange(_ first: String, _ second: String) async throws {
        try await run { try await $0.exchange(share, first, second) }
    }

    public func setMode(_ path: String, mode: UInt32) async throws {
        try await run { try await $0.setMode(share, path, mode: mode) }
    }

    public func setTimes(_ path: String, mtimeMs: Int64) async throws {
        try await run { try await $0.setTimes(share, path, mtimeMs: mtimeMs) }
    }

    public func usage() async throws -> ShareUsage {
        let properties = try await run { try await $0.shareProperties(share) }
        return ShareUsage(quotaBytes: properties.quota, usedBytes: properties.usageBytes, files: properties.files,
                          directories: properties.directories)
    }
}
