import AtRestCrypto
import AtRestStorage
import AtRestWire
import Synchronization
import Testing
@testable import AtRestCryptoWorker

/// The cache with an account of several key versions (`AccountContext.keys`):
/// each version is unwrapped once (the vault stand-in gives each wrapped
/// form its own fixed key), the result opens every own-chain version, hashes
/// names with the first version's name key, and a vault event drops them all.
@Suite struct AccountKeyCacheVersionTests {
    final class Vault: Sendable {
        let keys = Mutex<[[UInt8]: SecretBytes]>([:])
        let unwraps = Mutex<Int>(0)
        func unwrap(_ context: AccountContext) throws -> SecretBytes {
            unwraps.withLock { $0 += 1 }
            return try keys.withLock { keys in
                if let key = keys[context.wrappedKey] { return key }
                let key = try SecretBytes(randomCount: 32)
                keys[context.wrappedKey] = key
                return key
            }
        }
        var count: Int { unwraps.withLock { $0 } }
    }

    static func context(current: UInt32, wrapped: [UInt8], keys: [AccountKeyEntry] = []) -> AccountContext {
        AccountContext(accountID: "a", tenant: "t", managedIdentity: "mi-a", wrappedKey: wrapped, provider: "managed",
                       keyID: "t0.mk-1", keyVersion: 1, accountKeyVersion: current, principalID: "p", keys: keys)
    }

    static func entry(_ version: UInt32, _ wrapped: [UInt8], scope: String = "") -> AccountKeyEntry {
        AccountKeyEntry(accountKeyVersion: version, wrappedKey: wrapped, provider: "managed", keyID: "t0.mk-1", keyVersion: 1, scope: scope)
    }

    @Test func olderVersionsOpenAndNamesStayOnTheFirstVersionsKey() async throws {
        let vault = Vault()
        let cache = AccountKeyCache(unwrap: { try vault.unwrap($0) }, check: { _ in })
        let v1 = try await cache.key(for: Self.context(current: 1, wrapped: [1]))
        #expect(v1.versions == [1] && vault.count == 1)

        let rotated = Self.context(current: 2, wrapped: [2], keys: [Self.entry(1, [1])])
        let v2 = try await cache.key(for: rotated)
        #expect(vault.count == 2, "version 1 stays cached; only version 2 is unwrapped")
        #expect(v2.reference.accountKeyVersion == 2 && v2.versions == [1, 2])
        #expect(try v2.opening(version: 1).checkValue == v1.checkValue)
        #expect(v2.checkValue != v1.checkValue)
        #expect(try v2.hashName(["account", "a"]) == (try v1.hashName(["account", "a"])))
        _ = try await cache.key(for: rotated)
        let hits = await cache.hitCount
        #expect(vault.count == 2 && hits == 1)

        // A scope's key is not part of the own chain: not unwrapped here.
        let scoped = Self.context(current: 2, wrapped: [2], keys: [Self.entry(1, [1]), Self.entry(3, [3], scope: "s")])
        let scopedKey = try await cache.key(for: scoped)
        #expect(scopedKey.versions == [1, 2] && vault.count == 2)

        // After version 1 is retired only its name key remains (names-only entry): names still hash the same.
        let names = try AccountKey.nameKey(derivedFrom: v1.key)
        let retired = Self.context(current: 2, wrapped: [2], keys: [AccountKeyEntry(
            accountKeyVersion: 1, wrappedKey: [9], provider: "managed", keyID: "t0.mk-1", keyVersion: 1, namesOnly: true)])
        vault.keys.withLock { $0[[9]] = names }
        let v2Retired = try await cache.key(for: retired)
        #expect(v2Retired.versions == [2])
        #expect(throws: StorageError.self) { _ = try v2Retired.opening(version: 1) }
        #expect(try v2Retired.hashName(["account", "a"]) == (try v1.hashName(["account", "a"])))

        // A vault event for the KEK drops every version of the account.
        #expect(await cache.drop(provider: "managed", keyID: "t0.mk-1") == 1)
        #expect(await cache.cachedAccounts.isEmpty)
    }
}
