import AtRestCrypto
import AtRestKeyVault
import AtRestWire
import Glibc
import Synchronization

/// A temp data directory, a movable clock and an event collector around a
/// vault built from real plug-ins (found next to the test binary, or in
/// $ATREST_BIN_DIR).
final class VaultFixture: Sendable {
    static let rootKeyHex = String(repeating: "7c", count: 32)
    static let admin = VaultCaller(principalID: "alice", tenantID: "t1", roles: ["vault.admin"])
    static let auditor = VaultCaller(principalID: "audrey", tenantID: "t1", roles: ["vault.auditor"])
    static let app = VaultCaller(principalID: "acct-1-identity", tenantID: "t1")
    /// The front door's service principal: the only caller that registers references.
    static let service = VaultCaller(principalID: "frontdoor", tenantID: "system", roles: ["service"])

    let directory: String
    let clock = TestClock()
    let events = EventCollector()
    let providers: [ProviderSpec]

    init(providers: [ProviderSpec] = [.managed(), .customer(), .revokedTest(), .cTest()]) {
        var template = Array("/tmp/atrest-vault-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        self.providers = providers
    }

    deinit { _ = system("rm -rf '\(directory)'") }

    var dataDirectory: String { directory + "/data" }

    func config(_ providers: [ProviderSpec]? = nil) -> KeyVaultConfiguration {
        let clock = self.clock
        return KeyVaultConfiguration(dataDirectory: dataDirectory, providers: providers ?? self.providers,
                              rootKeyHex: Self.rootKeyHex, auditAnchorEvery: 4, clock: { clock.now })
    }

    func openVault(_ providers: [ProviderSpec]? = nil) throws -> KeyVault {
        try KeyVault(config: config(providers), events: events)
    }

    /// Grants the app principal wrap and unwrap on a key.
    func grantApp(_ vault: KeyVault, _ key: KeyRef) throws {
        _ = try vault.grantAccess(AccessGrant(key: key, principalID: Self.app.principalID, operations: [.wrap, .unwrap]), caller: Self.admin)
    }

    /// Every file under the data directory with its bytes.
    func dataFiles() -> [(String, [UInt8])] {
        var result: [(String, [UInt8])] = []
        func walk(_ dir: String) {
            guard let handle = opendir(dir) else { return }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let path = dir + "/" + name
                if entry.pointee.d_type == UInt8(DT_DIR) { walk(path); continue }
                if let fd = fopen(path, "rb") {
                    var bytes: [UInt8] = []
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let n = fread(&chunk, 1, chunk.count, fd)
                        if n == 0 { break }
                        bytes += chunk[..<n]
                    }
                    fclose(fd)
                    result.append((path, bytes))
                }
            }
        }
        walk(dataDirectory)
        return result
    }
}

final class TestClock: Sendable {
    private let value = Mutex<Int64>(1_750_000_000)
    var now: Int64 { value.withLock { $0 } }
    func advance(days: Int64 = 0, seconds: Int64 = 0) { value.withLock { $0 += days * 86_400 + seconds } }
}

final class EventCollector: KeyEventSink {
    private let events = Mutex<[KeyEvent]>([])
    func publish(_ event: KeyEvent) { events.withLock { $0.append(event) } }
    var all: [KeyEvent] { events.withLock { $0 } }
    var kinds: [KeyEvent.Kind] { all.map(\.kind) }
}

/// The vault error code thrown by `body`, or nil when it did not throw.
func vaultError(_ body: () throws -> Void) -> VaultError? {
    do { try body() } catch let error as VaultError { return error } catch { return VaultError(.internal, "unexpected \(error)") }
    return nil
}

func randomKey() throws -> SecretBytes { try SecretBytes(randomCount: 32) }

extension SecretBytes {
    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if Array(self[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
