import AtRestKeyVault
import AtRestWire
import Glibc
import Testing

/// The vault refuses to start on state others can read or write, and on
/// plug-in code others can write; the error names the file and the chmod.
@Suite struct VaultFileAccessTests {
    let fixture = VaultFixture(providers: [.managed()])

    /// A vault that has written every state file (a key and a grant).
    private func started() throws {
        let vault = try fixture.openVault()
        let key = try vault.createKey(provider: "managed", KeySpec(keyID: "k1"), caller: VaultFixture.admin)
        try fixture.grantApp(vault, KeyRef(provider: "managed", keyID: key.keyID))
        try vault.close()
    }

    @Test func exposedStateFilesAndDataDirectoryAreRefused() throws {
        try started()
        let data = fixture.dataDirectory
        for (path, mode, fix) in [("\(data)/vault.state", 0o666, "chmod 600"), ("\(data)/audit.log", 0o666, "chmod 600"),
                                  ("\(data)/audit.log", 0o644, "chmod 600"), (data, 0o777, "chmod 700"),
                                  ("\(data)/providers", 0o755, "chmod 700"), ("\(data)/providers/managed.state", 0o640, "chmod 600")] {
            #expect(access(path, F_OK) == 0, "\(path) was not written")
            chmod(path, mode_t(mode))
            let error = vaultError { _ = try fixture.openVault() }
            #expect(error?.message.contains("'\(path)'") == true, "\(path) \(String(mode, radix: 8)): \(String(describing: error))")
            #expect(error?.message.contains("\(fix) '\(path)'") == true, "\(String(describing: error))")
            chmod(path, path.hasSuffix("data") || path.hasSuffix("providers") ? 0o700 : 0o600)
        }
        _ = try fixture.openVault()  // all fixed: starts again
    }

    @Test func worldWritablePluginOrDirectoryIsRefused() throws {
        let plugins = fixture.directory + "/plugins"
        mkdir(plugins, 0o755)
        let library = plugins + "/libKeyProviderManaged.so"
        #expect(system("cp '\(KeyVaultConfiguration.defaultPluginDirectory())/libKeyProviderManaged.so' '\(library)'") == 0)
        chmod(library, 0o755)
        var config = fixture.config()
        config.pluginDirectory = plugins
        _ = try KeyVault(config: config)

        chmod(library, 0o666)
        let file = vaultError { _ = try KeyVault(config: config) }
        #expect(file?.code == .pluginLoad)
        #expect(file?.message.contains("plug-in file '\(library)' is writable by group or others (mode 666)") == true)
        #expect(file?.message.contains("chmod 644 '\(library)'") == true)

        chmod(library, 0o755)
        chmod(plugins, 0o777)
        let directory = vaultError { _ = try KeyVault(config: config) }
        #expect(directory?.code == .pluginLoad)
        #expect(directory?.message.contains("plug-in directory '\(plugins)'") == true)
        #expect(directory?.message.contains("chmod 755 '\(plugins)'") == true)
    }
}
