import AtRestKeyVault
import AtRestWire
import Glibc
import Testing

/// Start-up fails, naming the file and the problem, for every way a plug-in can be wrong.
@Suite struct PluginLoadingTests {
    let fixture = VaultFixture(providers: [.managed()])

    func startUpError(_ spec: ProviderSpec) -> VaultError? {
        vaultError { _ = try fixture.openVault([.managed(), spec]) }
    }

    @Test func missingFileNamesTheFile() {
        let error = startUpError(ProviderSpec(name: "hsm", library: "libKeyProviderHSM.so"))
        #expect(error?.code == .pluginLoad)
        #expect(error?.message.contains("libKeyProviderHSM.so' does not exist") == true)
        #expect(error?.message.contains("provider 'hsm'") == true)
    }

    @Test func missingSymbolNamesTheSymbol() {
        let error = startUpError(ProviderSpec(name: "ctest", library: "libKeyProviderCTest.so", symbol: "atrest_key_provider_v7"))
        #expect(error?.code == .pluginLoad)
        #expect(error?.message.contains("does not export the symbol 'atrest_key_provider_v7'") == true)
        #expect(error?.message.contains("libKeyProviderCTest.so") == true)
    }

    @Test func wrongABIVersionIsRefused() {
        let error = startUpError(ProviderSpec(name: "future", library: "libKeyProviderCTest.so", symbol: "atrest_ctest_future_abi"))
        #expect(error?.code == .pluginLoad)
        #expect(error?.message.contains("implements key-provider ABI version 2; this vault needs version 1") == true)
    }

    @Test func aFileThatIsNotALibraryIsRefused() throws {
        let path = fixture.directory + "/libGarbage.so"
        let file = fopen(path, "w")
        fputs("not an ELF file", file)
        fclose(file)
        let error = startUpError(ProviderSpec(name: "garbage", library: path))
        #expect(error?.code == .pluginLoad)
        #expect(error?.message.contains("cannot load plug-in file '\(path)'") == true)
    }

    @Test func badProviderConfigIsRefused() {
        let error = startUpError(.customer(config: "rotation_dayz=3"))
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("unknown config key 'rotation_dayz'") == true)
    }

    @Test func oneLibraryCanServeTwoNamesWithTheirOwnState() throws {
        let vault = try fixture.openVault([.customer(), ProviderSpec(name: "customer-eu", library: "libKeyProviderCustomer.so")])
        _ = try vault.createKey(provider: "customer-eu", KeySpec(keyID: "k"), caller: VaultFixture.admin)
        #expect(try vault.listKeys(provider: "customer", caller: VaultFixture.admin).isEmpty)
        #expect(try vault.listKeys(provider: "customer-eu", caller: VaultFixture.admin).count == 1)
    }
}
