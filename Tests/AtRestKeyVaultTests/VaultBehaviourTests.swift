import AtRestCrypto
import AtRestKeyVault
import AtRestWire
import Glibc
import Testing

/// Rotation policy, corrupt state, key bytes at rest and in errors, the root key file.
@Suite struct VaultBehaviourTests {
    @Test func managedKeysRotateAutomaticallyAndKeepOldVersions() throws {
        let fixture = VaultFixture(providers: [.managed(config: "rotation_days=30")])
        let vault = try fixture.openVault()
        let key = KeyRef(provider: "managed", keyID: "acct-1")
        let created = try vault.createKey(provider: "managed", KeySpec(keyID: "acct-1"), caller: VaultFixture.admin)
        #expect(created.rotationDays == 30)
        try fixture.grantApp(vault, key)
        let aek = try randomKey()
        let first = try vault.wrap(aek, with: key, caller: VaultFixture.app)
        fixture.clock.advance(days: 29)
        #expect(vault.applyRotationPolicy().isEmpty)
        fixture.clock.advance(days: 1)
        #expect(vault.applyRotationPolicy().map(\.currentVersion) == [2])
        fixture.clock.advance(days: 30)
        // A wrap of a key that is due rotates it first.
        let third = try vault.wrap(aek, with: key, caller: VaultFixture.app)
        #expect(third.key.version == 3)
        #expect(try vault.unwrap(first.serialized, caller: VaultFixture.app).key == aek)
        #expect(fixture.events.kinds.filter { $0 == .rotated }.count == 2)
        #expect(fixture.events.all.last { $0.kind == .rotated }?.actorID == "system:rotation-policy")
    }

    @Test func aCorruptProviderStateLeavesThatProviderUnavailableAndTheRestServing() throws {
        let fixture = VaultFixture(providers: [.managed(), .customer()])
        do {
            let vault = try fixture.openVault()
            _ = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: VaultFixture.admin)
        }
        let path = fixture.dataDirectory + "/providers/customer.state"
        // Flip one byte; writing a fixed value would leave the file intact when the byte already held it.
        let file = fopen(path, "r+b")
        fseek(file, 20, SEEK_SET)
        let original = fgetc(file)
        fseek(file, 20, SEEK_SET)
        fputc(original ^ 0x55, file)
        fclose(file)
        let before = fixture.dataFiles().first { $0.0 == path }?.1
        let vault = try fixture.openVault()
        let error = vaultError { _ = try vault.getKey(KeyRef(provider: "customer", keyID: "k1"), caller: VaultFixture.admin) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("customer.state' does not authenticate") == true)
        _ = try vault.createKey(provider: "managed", KeySpec(keyID: "acct-1"), caller: VaultFixture.admin)
        #expect(fixture.dataFiles().first { $0.0 == path }?.1 == before)
    }

    @Test func noKeyBytesOnDiskOrInErrors() throws {
        let fixture = VaultFixture(providers: [.customer(), .cTest()])
        let vault = try fixture.openVault()
        let material = try randomKey()
        let aek = try randomKey()
        var messages: [String] = []
        for provider in ["customer", "ctest"] {
            let key = KeyRef(provider: provider, keyID: "k")
            let envelope = try ImportEnvelope.seal(material, keyID: "k", vaultPublicKey: vault.importPublicKey)
            _ = try vault.importKey(provider: provider, KeySpec(keyID: "k"), envelope: envelope, caller: VaultFixture.admin)
            try fixture.grantApp(vault, key)
            var blob = try vault.wrap(aek, with: key, context: [7], caller: VaultFixture.app).serialized
            for attempt in [{ _ = try vault.unwrap(blob, context: [8], caller: VaultFixture.app) },
                            { _ = try vault.unwrap(blob, caller: VaultFixture.auditor) },
                            { _ = try vault.importKey(provider: provider, KeySpec(keyID: "k"), envelope: envelope, caller: VaultFixture.admin) }] {
                messages.append(vaultError(attempt)?.description ?? "")
            }
            blob[blob.count - 1] ^= 1
            messages.append(vaultError { _ = try vault.unwrap(blob, context: [7], caller: VaultFixture.app) }?.description ?? "")
        }
        #expect(messages.allSatisfy { !$0.isEmpty })
        let secrets = [material.bytes, aek.bytes]
        let hexes = secrets.map { Hex.encode($0) }
        for message in messages { #expect(!hexes.contains { message.contains($0) }, "\(message)") }
        let files = fixture.dataFiles()
        #expect(files.count >= 5)
        for (path, bytes) in files {
            for secret in secrets { #expect(!bytes.contains(subsequence: secret), "key bytes in \(path)") }
            for hex in hexes { #expect(!bytes.contains(subsequence: Array(hex.utf8)), "hex key bytes in \(path)") }
        }
    }

    @Test func theRootKeyFileIsCreatedPrivateAndReused() throws {
        let fixture = VaultFixture(providers: [.customer()])
        var config = fixture.config()
        config.rootKeyHex = nil
        do {
            let vault = try KeyVault(config: config)
            _ = try vault.createKey(provider: "customer", KeySpec(keyID: "k1"), caller: VaultFixture.admin)
        }
        var info = stat()
        #expect(stat(fixture.dataDirectory + "/root.key", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try KeyVault(config: config).getKey(KeyRef(provider: "customer", keyID: "k1"), caller: VaultFixture.admin).ref.named.keyID == "k1")
        chmod(fixture.dataDirectory + "/root.key", 0o644)
        let error = vaultError { _ = try KeyVault(config: config) }
        #expect(error?.message.contains("readable by group or others") == true)
        chmod(fixture.dataDirectory + "/root.key", 0o600)
        // Another root key cannot read the state: start-up stops with a clear reason.
        config.rootKeyHex = String(repeating: "ab", count: 32)
        let wrongRoot = vaultError { _ = try KeyVault(config: config) }
        #expect(wrongRoot?.code == .corrupt)
        #expect(wrongRoot?.message.contains("a different root key") == true)
    }

    @Test func keyEventsRoundTripOnTheWire() throws {
        let event = KeyEvent(kind: .accessRevoked, key: KeyRef(provider: "customer", keyID: "k", version: 3),
                             principalID: "p:unwrap", time: 42, actorID: "alice")
        #expect(try KeyEvent(serialized: event.serialized()) == event)
    }
}
