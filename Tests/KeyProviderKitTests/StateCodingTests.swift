import AtRestCrypto
import CKeyProviderABI
import Testing
@testable import KeyProviderKit

/// The provider state blob: every field survives a round trip, and a blob
/// that is cut, padded or forged is refused as corrupt, not half-read.
@Suite struct StateCodingTests {
    static func key(_ id: String, versions: Int) throws -> StoredKey {
        var key = StoredKey(id: id, versions: try (0..<versions).map { _ in try SecretBytes(randomCount: 32) })
        key.state = ATREST_KP_STATE_DELETED.rawValue
        key.stateBeforeDelete = ATREST_KP_STATE_DISABLED.rawValue
        key.flags = 0x5
        key.rotationDays = 90
        key.retentionDays = 7
        key.createdAt = 1_700_000_000
        key.rotatedAt = -1
        key.expiresAt = Int64.max
        key.deletedAt = 1_700_000_100
        key.purgeAfter = 1_700_604_900
        return key
    }

    func decode(_ bytes: [UInt8]) throws -> [String: StoredKey] {
        try bytes.withUnsafeBytes { try StateCoding.decode($0, provider: "managed") }
    }

    func encoded(_ keys: [String: StoredKey]) -> [UInt8] { StateCoding.encode(keys).withUnsafeBytes { Array($0) } }

    func failure(_ bytes: [UInt8]) -> ProviderFailure? {
        do { _ = try decode(bytes) } catch let error as ProviderFailure { return error } catch { return ProviderFailure(.internal, "\(error)") }
        return nil
    }

    @Test func everyFieldRoundTrips() throws {
        let keys = ["t1.a": try Self.key("t1.a", versions: 3), "b": try Self.key("b", versions: 1)]
        let decoded = try decode(encoded(keys))
        #expect(decoded.keys.sorted() == ["b", "t1.a"])
        for (id, key) in keys {
            let back = try #require(decoded[id])
            #expect(back.id == key.id && back.versions == key.versions)
            #expect([back.state, back.stateBeforeDelete, back.flags, back.rotationDays, back.retentionDays]
                == [key.state, key.stateBeforeDelete, key.flags, key.rotationDays, key.retentionDays])
            #expect([back.createdAt, back.rotatedAt, back.expiresAt, back.deletedAt, back.purgeAfter]
                == [key.createdAt, key.rotatedAt, key.expiresAt, key.deletedAt, key.purgeAfter])
        }
        #expect(try decode(encoded([:])).isEmpty)
    }

    @Test func damagedBlobsAreCorrupt() throws {
        let good = encoded(["k": try Self.key("k", versions: 2)])
        var badMagic = good
        badMagic[0] = UInt8(ascii: "X")
        #expect(failure(badMagic)?.message == "managed state does not start with KPS1")
        #expect(failure(good + [0])?.message == "managed state has trailing bytes")
        for cut in [3, 8, 20, good.count - 1] {
            #expect(failure(Array(good.prefix(cut)))?.status == .corrupt, "cut at \(cut)")
        }
        // A key with zero versions cannot be used for anything: refused, not loaded.
        var zero = try Self.key("k", versions: 1)
        zero.versions = []
        #expect(failure(encoded(["k": zero]))?.message.contains("has 0 versions") == true)
    }

    @Test func versionsAndUsability() throws {
        var key = try Self.key("k", versions: 2)
        #expect(try key.material(0) == key.versions[1])
        #expect(try key.material(1) == key.versions[0])
        for missing: UInt32 in [3, 100] {
            do throws(ProviderFailure) { _ = try key.material(missing); Issue.record("version \(missing) found") } catch {
                #expect(error.status == .notFound && error.message == "key 'k' has no version \(missing) (versions 1-2)")
            }
        }
        do throws(ProviderFailure) { try key.checkUsable(); Issue.record("deleted key usable") } catch { #expect(error.status == .deleted) }
        key.state = ATREST_KP_STATE_DISABLED.rawValue
        do throws(ProviderFailure) { try key.checkUsable(); Issue.record("disabled key usable") } catch { #expect(error.status == .disabled) }
        key.state = ATREST_KP_STATE_ENABLED.rawValue
        try key.checkUsable()
    }
}
