import AtRestCrypto
import AtRestKeyVault
import AtRestWire
import Testing

/// One provider under test and what it is expected to do differently.
struct ProviderCase: Sendable, CustomTestStringConvertible {
    var spec: ProviderSpec
    var importable: Bool
    var unwrapRevoked: Bool
    var testDescription: String { spec.name }

    static let all = [
        ProviderCase(spec: .managed(), importable: false, unwrapRevoked: false),
        ProviderCase(spec: .customer(), importable: true, unwrapRevoked: false),
        ProviderCase(spec: .revokedTest(), importable: true, unwrapRevoked: true),
        ProviderCase(spec: .cTest(), importable: true, unwrapRevoked: false),
    ]
}

/// The conformance suite every key provider passes, run through the real
/// dlopen path against the three Swift plug-ins and the C test provider.
/// All four are loaded into this one process, which links AtRestCrypto
/// statically as each Swift plug-in does: that is the duplicate-metadata check.
@Suite struct ProviderConformanceTests {
    let fixture = VaultFixture()

    func setUp(_ p: ProviderCase, _ id: String = "k1", spec: KeySpec? = nil) throws -> (KeyVault, KeyRef) {
        let vault = try fixture.openVault()
        let key = KeyRef(provider: p.spec.name, keyID: id)
        _ = try vault.createKey(provider: p.spec.name, spec ?? KeySpec(keyID: id), caller: VaultFixture.admin)
        try fixture.grantApp(vault, key)
        return (vault, key)
    }

    @Test(arguments: ProviderCase.all)
    func createDescribeAndRejectDuplicates(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p)
        let info = try vault.getKey(key, caller: VaultFixture.admin)
        #expect(info.currentVersion == 1 && info.versionCount == 1 && info.state == .enabled)
        #expect(info.createdAt == fixture.clock.now)
        #expect(vaultError { _ = try vault.createKey(provider: p.spec.name, KeySpec(keyID: "k1"), caller: VaultFixture.admin) }?.code == .alreadyExists)
        #expect(vaultError { _ = try vault.createKey(provider: p.spec.name, KeySpec(keyID: "bad id/"), caller: VaultFixture.admin) }?.code == .invalidArgument)
        #expect(try vault.listKeys(provider: p.spec.name, caller: VaultFixture.admin).map(\.ref.named.keyID) == ["k1"])
        #expect(vaultError { _ = try vault.getKey(KeyRef(provider: p.spec.name, keyID: "nope"), caller: VaultFixture.admin) }?.code == .notFound)
    }

    @Test(arguments: ProviderCase.all)
    func wrapUnwrapRoundTripOrRevoked(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p)
        let aek = try randomKey()
        let wrapped = try vault.wrap(aek, with: key, context: Array("acct-1".utf8), caller: VaultFixture.app)
        #expect(wrapped.key.named == KeyRef(provider: p.spec.name, keyID: "k1", version: 1))
        #expect(wrapped.checkValue.count == 16)
        #expect(!wrapped.serialized.contains(subsequence: aek.bytes))
        let unwrap = { try vault.unwrap(wrapped.serialized, context: Array("acct-1".utf8), caller: VaultFixture.app) }
        if p.unwrapRevoked {
            let error = vaultError { _ = try unwrap() }
            #expect(error?.code == .revoked)
            #expect(error?.rpcStatus.code == .permissionDenied)
        } else {
            let (back, ref) = try unwrap()
            #expect(back == aek)
            #expect(ref.version == 1)
        }
    }

    @Test(arguments: ProviderCase.all.filter { !$0.unwrapRevoked })
    func rotationKeepsOldVersionsForUnwrap(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p)
        let aek = try randomKey()
        let v1 = try vault.wrap(aek, with: key, caller: VaultFixture.app)
        let rotated = try vault.rotateKey(key, caller: VaultFixture.admin)
        #expect(rotated.currentVersion == 2 && rotated.versionCount == 2)
        let v2 = try vault.wrap(aek, with: key, caller: VaultFixture.app)
        #expect(v2.key.version == 2)
        #expect(v2.checkValue != v1.checkValue)
        #expect(try vault.unwrap(v1.serialized, caller: VaultFixture.app).key == aek)
        #expect(try vault.unwrap(v2.serialized, caller: VaultFixture.app).key == aek)
    }

    @Test(arguments: ProviderCase.all.filter { !$0.unwrapRevoked })
    func disabledKeysRefuseUntilEnabled(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p)
        let aek = try randomKey()
        let wrapped = try vault.wrap(aek, with: key, caller: VaultFixture.app)
        #expect(try vault.setEnabled(key, false, caller: VaultFixture.admin).state == .disabled)
        let error = vaultError { _ = try vault.unwrap(wrapped.serialized, caller: VaultFixture.app) }
        #expect(error?.code == .disabled)
        #expect(error?.message.contains(".k1'") == true)
        #expect(vaultError { _ = try vault.wrap(aek, with: key, caller: VaultFixture.app) }?.code == .disabled)
        _ = try vault.setEnabled(key, true, caller: VaultFixture.admin)
        #expect(try vault.unwrap(wrapped.serialized, caller: VaultFixture.app).key == aek)
    }

    @Test(arguments: ProviderCase.all.filter { !$0.unwrapRevoked })
    func softDeleteRecoverAndPurge(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p)
        let aek = try randomKey()
        let wrapped = try vault.wrap(aek, with: key, caller: VaultFixture.app)
        #expect(vaultError { try vault.purgeKey(key, caller: VaultFixture.admin) }?.code == .invalidArgument)
        let deleted = try vault.deleteKey(key, caller: VaultFixture.admin)
        #expect(deleted.state == .deleted && deleted.deletedAt == fixture.clock.now)
        #expect(vaultError { _ = try vault.unwrap(wrapped.serialized, caller: VaultFixture.app) }?.code == .deleted)
        #expect(try vault.recoverKey(key, caller: VaultFixture.admin).state == .enabled)
        #expect(try vault.unwrap(wrapped.serialized, caller: VaultFixture.app).key == aek)
        _ = try vault.deleteKey(key, caller: VaultFixture.admin)
        try vault.purgeKey(key, caller: VaultFixture.admin)
        #expect(vaultError { _ = try vault.getKey(key, caller: VaultFixture.admin) }?.code == .notFound)
    }

    @Test(arguments: ProviderCase.all.filter { !$0.unwrapRevoked })
    func purgeProtectionHoldsUntilRetentionEnds(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p, spec: KeySpec(keyID: "k1", retentionDays: 7, purgeProtection: true))
        let deleted = try vault.deleteKey(key, caller: VaultFixture.admin)
        #expect(deleted.purgeProtection && deleted.purgeAfter == fixture.clock.now + 7 * 86_400)
        fixture.clock.advance(days: 6)
        let error = vaultError { try vault.purgeKey(key, caller: VaultFixture.admin) }
        #expect(error?.code == .purgeProtected)
        #expect(error?.message.contains(".k1'") == true)
        fixture.clock.advance(days: 1)
        try vault.purgeKey(key, caller: VaultFixture.admin)
    }

    @Test(arguments: ProviderCase.all.filter { !$0.unwrapRevoked })
    func expiredKeysStopWrappingButStillUnwrap(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p, spec: KeySpec(keyID: "k1", expiresAt: fixture.clock.now + 100))
        let aek = try randomKey()
        let wrapped = try vault.wrap(aek, with: key, caller: VaultFixture.app)
        fixture.clock.advance(seconds: 100)
        let error = vaultError { _ = try vault.wrap(aek, with: key, caller: VaultFixture.app) }
        #expect(error?.code == .expired)
        #expect(error?.message.contains(".k1'") == true)
        #expect(try vault.unwrap(wrapped.serialized, caller: VaultFixture.app).key == aek)
    }

    @Test(arguments: ProviderCase.all.filter { !$0.unwrapRevoked })
    func corruptBlobsContextsAndUnknownVersionsFailClearly(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p)
        let made = try vault.wrap(try randomKey(), with: key, context: [1, 2], caller: VaultFixture.app)
        let wrapped = made.serialized
        var flipped = wrapped
        flipped[flipped.count - 3] ^= 0x40
        #expect(vaultError { _ = try vault.unwrap(flipped, context: [1, 2], caller: VaultFixture.app) }?.code == .corrupt)
        #expect(vaultError { _ = try vault.unwrap(wrapped, context: [1, 3], caller: VaultFixture.app) }?.code == .corrupt)
        #expect(vaultError { _ = try vault.unwrap(Array(wrapped.prefix(20)), caller: VaultFixture.app) }?.code == .corrupt)
        #expect(vaultError { _ = try vault.unwrap([1, 2, 3], caller: VaultFixture.app) }?.code == .corrupt)
        // Version field (4 bytes after magic, provider and key id) set to 9.
        var versioned = wrapped
        let versionOffset = 5 + 1 + p.spec.name.utf8.count + 1 + made.key.keyID.utf8.count
        versioned[versionOffset + 3] = 9
        let error = vaultError { _ = try vault.unwrap(versioned, context: [1, 2], caller: VaultFixture.app) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("version 9") == true)
    }

    @Test(arguments: ProviderCase.all.filter { !$0.unwrapRevoked })
    func sameNameDifferentKeyIsWrongKey(_ p: ProviderCase) throws {
        let (vault, key) = try setUp(p)
        let wrapped = try vault.wrap(try randomKey(), with: key, caller: VaultFixture.app)
        _ = try vault.deleteKey(key, caller: VaultFixture.admin)
        try vault.purgeKey(key, caller: VaultFixture.admin)
        _ = try vault.createKey(provider: p.spec.name, KeySpec(keyID: "k1"), caller: VaultFixture.admin)
        try fixture.grantApp(vault, key)
        let error = vaultError { _ = try vault.unwrap(wrapped.serialized, caller: VaultFixture.app) }
        #expect(error?.code == .wrongKey)
        #expect(error?.message.contains("k1 version 1") == true)
    }

    @Test(arguments: ProviderCase.all)
    func importUsesTheCustomersMaterialOrIsRefused(_ p: ProviderCase) throws {
        let vault = try fixture.openVault()
        let material = try randomKey()
        let spec = KeySpec(keyID: "byok-a")
        let envelope = try ImportEnvelope.seal(material, keyID: "byok-a", vaultPublicKey: vault.importPublicKey)
        guard p.importable else {
            #expect(vaultError { _ = try vault.importKey(provider: p.spec.name, spec, envelope: envelope, caller: VaultFixture.admin) }?.code == .unsupported)
            return
        }
        let info = try vault.importKey(provider: p.spec.name, spec, envelope: envelope, caller: VaultFixture.admin)
        #expect(info.imported)
        // The same material imported under another id has the same check value.
        let other = try ImportEnvelope.seal(material, keyID: "byok-b", vaultPublicKey: vault.importPublicKey)
        _ = try vault.importKey(provider: p.spec.name, KeySpec(keyID: "byok-b"), envelope: other, caller: VaultFixture.admin)
        // ... and an envelope sealed for another id is refused.
        #expect(vaultError { _ = try vault.importKey(provider: p.spec.name, KeySpec(keyID: "byok-c"), envelope: other, caller: VaultFixture.admin) }?.code == .corrupt)
        var kcvs: [[UInt8]] = []
        for id in ["byok-a", "byok-b"] {
            let key = KeyRef(provider: p.spec.name, keyID: id)
            try fixture.grantApp(vault, key)
            kcvs.append(try vault.wrap(try randomKey(), with: key, caller: VaultFixture.app).checkValue)
        }
        #expect(kcvs[0] == kcvs[1])
        #expect(!fixture.dataFiles().contains { $0.1.contains(subsequence: material.bytes) })
    }

    @Test(arguments: ProviderCase.all)
    func stateSurvivesARestart(_ p: ProviderCase) throws {
        let aek = try randomKey()
        let wrapped: WrappedKey
        do {
            let (vault, key) = try setUp(p)
            _ = try vault.rotateKey(key, caller: VaultFixture.admin)
            wrapped = try vault.wrap(aek, with: key, caller: VaultFixture.app)
            _ = try vault.registerReference(wrapped.key, caller: VaultFixture.service)
        }
        let vault = try fixture.openVault()
        let info = try vault.getKey(KeyRef(provider: p.spec.name, keyID: "k1"), caller: VaultFixture.admin)
        #expect(info.currentVersion == 2)
        #expect(info.references == [2: 1])
        if !p.unwrapRevoked {
            #expect(try vault.unwrap(wrapped.serialized, caller: VaultFixture.app).key == aek)
        }
    }
}
