import AtRestCrypto
import AtRestWire
import Synchronization
import Testing
@testable import AtRestCryptoWorker

/// The worker's account-key cache with the vault replaced by closures that
/// count calls and answer as told: hits, TTL, refusals, events, re-check.
@Suite struct AccountKeyCacheTests {
    /// Stands in for the vault: answers each account from `answers`
    /// (nil = a fresh 32-byte key), counting unwraps and checks.
    final class Vault: Sendable {
        let answers = Mutex<[String: RPCStatus]>([:])
        let checkAnswers = Mutex<[String: RPCStatus]>([:])
        let unwraps = Mutex<[String: Int]>([:])
        let checks = Mutex<Int>(0)

        func unwrap(_ context: AccountContext) throws -> SecretBytes {
            unwraps.withLock { $0[context.accountID, default: 0] += 1 }
            if let refusal = answers.withLock({ $0[context.accountID] }) { throw refusal }
            return try SecretBytes(randomCount: 32)
        }

        func check(_ context: AccountContext) throws {
            checks.withLock { $0 += 1 }
            if let refusal = checkAnswers.withLock({ $0[context.accountID] }) { throw refusal }
        }

        func unwrapCount(_ account: String) -> Int { unwraps.withLock { $0[account, default: 0] } }
    }

    let vault = Vault()

    func cache(ttl: Duration = .seconds(300), refusalTTL: Duration = .seconds(300)) -> AccountKeyCache {
        let vault = vault
        return AccountKeyCache(configuration: .init(ttl: ttl, refusalTTL: refusalTTL),
                               unwrap: { try vault.unwrap($0) }, check: { try vault.check($0) })
    }

    static func context(_ account: String, keyID: String = "t0.mk-1", wrapped: [UInt8] = [1]) -> AccountContext {
        AccountContext(accountID: account, tenant: "t", managedIdentity: "mi-\(account)", wrappedKey: wrapped, provider: "managed",
                       keyID: keyID, keyVersion: 1, accountKeyVersion: 1, principalID: "p")
    }

    static let revoked = RPCStatus(.failedPrecondition, "key is disabled")
    static let down = RPCStatus(.unavailable, "vault unreachable")

    func status(_ body: () async throws -> Void) async -> RPCStatus? {
        do { try await body() } catch let status as RPCStatus { return status } catch { return RPCStatus(.unknown, "\(error)") }
        return nil
    }

    @Test func secondCallIsAHit() async throws {
        let keys = cache()
        _ = try await keys.key(for: Self.context("a"))
        _ = try await keys.key(for: Self.context("a"))
        #expect(vault.unwrapCount("a") == 1)
        #expect(await keys.unwrapCount == 1)
        #expect(await keys.hitCount == 1)
        #expect(await keys.cachedAccounts == ["a"])
    }

    @Test func anExpiredEntryIsUnwrappedAgain() async throws {
        let keys = cache(ttl: .zero)
        _ = try await keys.key(for: Self.context("a"))
        _ = try await keys.key(for: Self.context("a"))
        #expect(vault.unwrapCount("a") == 2)
        #expect(await keys.hitCount == 0)
    }

    @Test func aNewWrappingIsPickedUpWithoutAnEvent() async throws {
        let keys = cache()
        _ = try await keys.key(for: Self.context("a", wrapped: [1]))
        _ = try await keys.key(for: Self.context("a", wrapped: [2]))
        #expect(vault.unwrapCount("a") == 2)
    }

    @Test func aRefusalIsRememberedForItsTTL() async throws {
        let keys = cache()
        vault.answers.withLock { $0["a"] = Self.revoked }
        #expect(await status { _ = try await keys.key(for: Self.context("a")) }?.code == .failedPrecondition)
        vault.answers.withLock { $0["a"] = nil }
        // Still refused from memory: the vault is not asked again.
        #expect(await status { _ = try await keys.key(for: Self.context("a")) }?.message == "key is disabled")
        #expect(vault.unwrapCount("a") == 1)
    }

    @Test func aRefusalExpiresSoReEnablingRecovers() async throws {
        let keys = cache(refusalTTL: .zero)
        vault.answers.withLock { $0["a"] = Self.revoked }
        #expect(await status { _ = try await keys.key(for: Self.context("a")) } != nil)
        vault.answers.withLock { $0["a"] = nil }
        _ = try await keys.key(for: Self.context("a"))
        #expect(vault.unwrapCount("a") == 2)
    }

    @Test func anUnreachableVaultIsNotRemembered() async throws {
        let keys = cache()
        vault.answers.withLock { $0["a"] = Self.down }
        #expect(await status { _ = try await keys.key(for: Self.context("a")) }?.code == .unavailable)
        #expect(await status { _ = try await keys.key(for: Self.context("a")) }?.code == .unavailable)
        #expect(vault.unwrapCount("a") == 2)
    }

    @Test func aKeyEventDropsOnlyTheAccountsOfThatKey() async throws {
        let keys = cache()
        _ = try await keys.key(for: Self.context("a", keyID: "k1"))
        _ = try await keys.key(for: Self.context("b", keyID: "k1"))
        _ = try await keys.key(for: Self.context("c", keyID: "k2"))
        #expect(await keys.drop(provider: "managed", keyID: "k1") == 2)
        #expect(await keys.drop(provider: "customer", keyID: "k2") == 0)
        #expect(await keys.cachedAccounts == ["c"])
        #expect(await keys.dropCount == 2)
        _ = try await keys.key(for: Self.context("a", keyID: "k1"))
        _ = try await keys.key(for: Self.context("c", keyID: "k2"))
        #expect(vault.unwrapCount("a") == 2 && vault.unwrapCount("c") == 1)
    }

    @Test func recheckDropsARefusedKeyAndKeepsTheRest() async throws {
        let keys = cache()
        for account in ["a", "b", "c"] { _ = try await keys.key(for: Self.context(account)) }
        vault.checkAnswers.withLock {
            $0["a"] = Self.revoked
            $0["b"] = Self.down
        }
        await keys.recheck()
        #expect(vault.checks.withLock { $0 } == 3)
        // a: refused and remembered; b: the vault was unreachable, so kept until its TTL; c: fine.
        #expect(await keys.cachedAccounts == ["b", "c"])
        #expect(await keys.dropCount == 1)
        #expect(await status { _ = try await keys.key(for: Self.context("a")) }?.message == "key is disabled")
        #expect(vault.unwrapCount("a") == 1)
    }

    @Test func recheckForgetsExpiredEntriesWithoutAskingTheVault() async throws {
        let keys = cache(ttl: .zero)
        _ = try await keys.key(for: Self.context("a"))
        await keys.recheck()
        #expect(vault.checks.withLock { $0 } == 0)
        #expect(await keys.cachedAccounts.isEmpty)
    }

    @Test func onlyRefusalsCountAsKeyRefusals() {
        for code in [StatusCode.permissionDenied, .failedPrecondition, .notFound, .unauthenticated] {
            #expect(KeyAccessError.isKeyRefusal(RPCStatus(code, "x")), "\(code)")
        }
        for code in [StatusCode.unavailable, .deadlineExceeded, .resourceExhausted, .internal, .unknown, .cancelled] {
            #expect(!KeyAccessError.isKeyRefusal(RPCStatus(code, "x")), "\(code)")
        }
        let refused = KeyAccessError.from(RPCStatus(.notFound, "gone"), context: Self.context("a"))
        #expect(refused.code == .failedPrecondition && refused.details["reason"] == "keyInaccessible")
        #expect(refused.details["key"] == "managed/t0.mk-1")
        let unreachable = KeyAccessError.from(Self.down, context: Self.context("a"))
        #expect(unreachable.code == .unavailable && unreachable.details["reason"] == nil)
    }
}
