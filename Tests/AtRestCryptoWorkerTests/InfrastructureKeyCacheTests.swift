import AtRestCrypto
import AtRestWire
import Synchronization
import Testing
@testable import AtRestCryptoWorker

/// The key cache with an infrastructure-layer key entry (issue 20): both keys
/// unwrapped, one cache entry, either key's refusal, event or new wrapping
/// acts on the account. The vault is a closure answering per key id.
@Suite struct InfrastructureKeyCacheTests {
    final class Vault: Sendable {
        let refused = Mutex<Set<String>>([])
        let unwraps = Mutex<[String]>([])
        func unwrap(_ context: AccountContext) throws -> SecretBytes {
            unwraps.withLock { $0.append(context.keyID) }
            if refused.withLock({ $0.contains(context.keyID) }) { throw RPCStatus(.failedPrecondition, "key \(context.keyID) is disabled") }
            return try SecretBytes(randomCount: 32)
        }
        func check(_ context: AccountContext) throws {
            if refused.withLock({ $0.contains(context.keyID) }) { throw RPCStatus(.failedPrecondition, "key \(context.keyID) is disabled") }
        }
    }

    let vault = Vault()

    func cache() -> AccountKeyCache {
        let vault = vault
        return AccountKeyCache(configuration: .init(ttl: .seconds(300), refusalTTL: .seconds(300)),
                               unwrap: { try vault.unwrap($0) }, check: { try vault.check($0) })
    }

    static func context(infraWrapped: [UInt8] = [9]) -> AccountContext {
        AccountContext(accountID: "a", tenant: "t", managedIdentity: "mi-a", wrappedKey: [1], provider: "managed", keyID: "k-main",
                       keyVersion: 1, accountKeyVersion: 1, principalID: "p",
                       keys: [AccountKeyEntry(accountKeyVersion: 2, wrappedKey: infraWrapped, provider: "managed", keyID: "k-infra",
                                              keyVersion: 1, infrastructure: true)])
    }

    @Test func bothKeysAreUnwrappedOnceAndHandedOverTogether() async throws {
        let keys = cache()
        let key = try await keys.key(for: Self.context())
        #expect(key.reference.accountKeyVersion == 1)
        #expect(key.infrastructure?.accountKeyVersion == 2)
        _ = try await keys.key(for: Self.context())
        #expect(vault.unwraps.withLock { $0 } == ["k-main", "k-infra"])
        // A context without the entry (an account without the option) gets no second key.
        var plain = Self.context()
        plain.accountID = "b"
        plain.keys = []
        #expect(try await keys.key(for: plain).infrastructure == nil)
    }

    @Test func aNewWrappingOfTheInfrastructureKeyIsPickedUp() async throws {
        let keys = cache()
        _ = try await keys.key(for: Self.context(infraWrapped: [9]))
        _ = try await keys.key(for: Self.context(infraWrapped: [10]))
        // The infrastructure key is a version slot of its own: only it is unwrapped again.
        #expect(vault.unwraps.withLock { $0 } == ["k-main", "k-infra", "k-infra"])
    }

    @Test func theInfrastructureKeysRefusalBlocksTheAccount() async throws {
        let keys = cache()
        vault.refused.withLock { _ = $0.insert("k-infra") }
        await #expect(throws: RPCStatus.self) { _ = try await keys.key(for: Self.context()) }
        // Remembered: the next call fails at once, without asking the vault again.
        let asked = vault.unwraps.withLock { $0.count }
        await #expect(throws: RPCStatus.self) { _ = try await keys.key(for: Self.context()) }
        #expect(vault.unwraps.withLock { $0.count } == asked)
    }

    @Test func anEventOrRecheckOnTheInfrastructureKeyDropsTheAccount() async throws {
        let keys = cache()
        _ = try await keys.key(for: Self.context())
        #expect(await keys.drop(provider: "managed", keyID: "k-infra") == 1)
        // The dropped slot is unwrapped again on the next call; the current key's stays cached.
        _ = try await keys.key(for: Self.context())
        #expect(vault.unwraps.withLock { $0 } == ["k-main", "k-infra", "k-infra"])
        vault.refused.withLock { _ = $0.insert("k-infra") }
        await keys.recheck()
        await #expect(throws: RPCStatus.self) { _ = try await keys.key(for: Self.context()) }
        #expect(vault.unwraps.withLock { $0 }.count == 3)
    }
}
