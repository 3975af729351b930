import Foundation
import Testing

/// The link graph of docs/ARCHITECTURE.md ("Who links what"), checked
/// against Package.swift and the sources' imports, so it stays true.
@Suite struct PackageGraphTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Service implementations: what a client, the CLI or another service must not link.
    static let services: Set<String> = ["AtRestKeyVault", "AtRestIdentity", "AtRestCryptoWorker", "AtRestFrontDoor"]
    /// The vault's provider plug-ins and their ABI (loaded by the vault alone).
    static let plugins: Set<String> = ["KeyProviderKit", "KeyProviderManaged", "KeyProviderCustomer", "KeyProviderRevokedTest",
                                       "KeyProviderCTest", "CKeyProviderABI"]

    let manifest: PackageManifest

    init() throws { manifest = try PackageManifest(root: Self.root) }

    func links(_ target: String) throws -> Set<String> {
        try #require(manifest.targets[target] != nil, "no target \(target) in Package.swift")
        return manifest.closure(of: target)
    }

    @Test func theManifestIsReadAsExpected() throws {
        // Guards the parser: a target it misread would make every rule below pass.
        #expect(manifest.targets.count > 30)
        #expect(try links("atrest").contains("AtRestClient"))
        #expect(try links("atrest-keyvault").contains("AtRestKeyVault"))
        #expect(try links("AtRestWire").contains("CAtRestProto"))
    }

    @Test(arguments: ["atrest", "AtRestClient"])
    func clientsLinkNoServiceNorStorage(_ target: String) throws {
        let forbidden = Self.services.union(Self.plugins).union(["AtRestStorage", "AtRestLoginGate"])
        #expect(try links(target).intersection(forbidden).sorted() == [], "\(target) links a service implementation")
    }

    @Test(arguments: ["AtRestFrontDoor", "atrest-frontdoor"])
    func theFrontDoorDoesNotLinkTheWorker(_ target: String) throws {
        #expect(try !links(target).contains("AtRestCryptoWorker"))
    }

    /// A service reaches another only through the contract (AtRestWire) and AtRestClient.
    @Test func servicesLinkNoOtherService() throws {
        let executables = ["atrest-keyvault": "AtRestKeyVault", "atrest-identity": "AtRestIdentity",
                           "atrest-worker": "AtRestCryptoWorker", "atrest-frontdoor": "AtRestFrontDoor"]
        for service in Self.services {
            #expect(try links(service).intersection(Self.services).sorted() == [], "\(service) links another service")
        }
        for (executable, service) in executables {
            #expect(try links(executable).intersection(Self.services).sorted() == [service], "\(executable) links another service")
        }
    }

    /// The offline recovery tool reads the vault's and the front door's
    /// files and the store (a directory or Ceph pools) through their own
    /// readers, but links no worker and no identity service (docs/OPERATIONS.md "Offline recovery").
    @Test func theRecoveryToolLinksOnlyTheReadersItNeeds() throws {
        let recover = try links("atrest-recover")
        #expect(recover.isSuperset(of: ["AtRestKeyVault", "AtRestFrontDoor", "AtRestStorage", "AtRestBackends"]))
        #expect(recover.intersection(["AtRestCryptoWorker", "AtRestIdentity", "AtRestTesting"]).sorted() == [])
    }

    /// Verifying a token links neither the identity service nor its state.
    @Test func tokenVerificationLinksNoIdentityService() throws {
        let forbidden: Set<String> = ["AtRestIdentity", "AtRestLoginGate", "AtRestLocalState", "AtRestMessaging"]
        #expect(try links("AtRestTokens").intersection(forbidden).sorted() == [])
    }

    /// The contract depends on nothing but the generated C code.
    @Test func theContractStandsAlone() throws {
        #expect(try links("AtRestWire") == ["CAtRestProto"])
    }

    /// librados is touched by its wrapper alone: everything above sees AtRestRados' Swift types.
    @Test func onlyTheRadosWrapperLinksLibrados() {
        let direct = manifest.targets.values.filter { $0.dependencies.contains("CRados") }.map(\.name)
        #expect(direct.sorted() == ["AtRestRados"])
    }

    /// libfuse3 is touched by its wrapper alone: file systems implement
    /// AtRestFUSE's Swift protocol, and the passthrough baseline links
    /// nothing of AtRest's storage, crypto or services (docs/ARCHITECTURE.md).
    @Test func onlyTheFUSEWrapperLinksLibfuse() throws {
        let direct = manifest.targets.values.filter { $0.dependencies.contains("CFuse3") }.map(\.name)
        #expect(direct.sorted() == ["AtRestFUSE"])
        #expect(try links("AtRestFUSE") == ["CFuse3"])
        #expect(try links("AtRestFUSEPassthrough") == ["AtRestFUSE", "CFuse3", "CAtRestLinux"])
        #expect(try links("atrest-fuse-passthrough").intersection(Self.services.union(["AtRestStorage", "AtRestCrypto", "AtRestMessaging"])).sorted() == [])
        for client in ["atrest", "AtRestClient"] + Self.services {
            #expect(try !links(client).contains("AtRestFUSEPassthrough"), "\(client) links the passthrough baseline")
        }
    }

    /// `atrest mount` links the FUSE wrapper through AtRestFileMount, a
    /// client of the front door like the CLI: no storage, crypto or service
    /// (docs/OPERATIONS.md "Mounting a share"); services link no FUSE at all.
    @Test func theShareMountIsAClientOfTheFUSEWrapper() throws {
        #expect(try links("AtRestFileMount").isSuperset(of: ["AtRestFUSE", "AtRestClient", "CFuse3"]))
        let forbidden = Self.services.union(Self.plugins).union(["AtRestStorage", "AtRestLoginGate", "AtRestFUSEPassthrough"])
        #expect(try links("AtRestFileMount").intersection(forbidden).sorted() == [])
        #expect(try links("atrest").isSuperset(of: ["AtRestFileMount", "AtRestFUSE"]))
        for service in Self.services {
            #expect(try !links(service).contains("AtRestFUSE"), "\(service) links FUSE")
        }
    }

    /// SQLite is touched by its wrapper alone; the local backend's record
    /// maps use AtRestSQLite's Swift types, and no client links either.
    @Test func onlyTheSQLiteWrapperLinksSQLite() throws {
        let direct = manifest.targets.values.filter { $0.dependencies.contains("CSQLite") }.map(\.name)
        #expect(direct.sorted() == ["AtRestSQLite"])
        for client in ["atrest", "AtRestClient"] {
            #expect(try !links(client).contains("AtRestSQLite"), "\(client) links SQLite")
        }
    }

    /// The backend interface stays free of any medium: the store links no
    /// librados; backends beyond `local` live in AtRestBackends, which
    /// clients never link.
    @Test func theBackendInterfaceLinksNoMedium() throws {
        #expect(try !links("AtRestStorage").contains("AtRestRados"))
        #expect(try links("AtRestBackends").isSuperset(of: ["AtRestStorage", "AtRestRados"]))
        for client in ["atrest", "AtRestClient"] {
            #expect(try !links(client).contains("AtRestBackends"), "\(client) links a storage backend")
        }
    }

    /// Test support is for tests and the benchmarks only; the traits
    /// (which import Testing) for tests alone.
    @Test func noServiceOrToolLinksTestSupport() {
        let support: Set<String> = ["AtRestTesting", "AtRestWireTesting", "AtRestTestTraits"]
        // The fuzz targets are test tooling too (fuzz-wire decodes every contract message of WireSample).
        for target in manifest.targets.values where target.kind != .testTarget && !support.contains(target.name) && target.name != "atrest-bench"
            && !target.name.hasPrefix("fuzz-") {
            #expect(manifest.closure(of: target.name).isDisjoint(with: support), "\(target.name) links test support")
        }
        #expect(manifest.closure(of: "atrest-bench").isDisjoint(with: ["AtRestTestTraits"]), "atrest-bench links Testing through the traits")
    }

    /// Sockets are built in AtRestSockets alone (sockaddr values, socket
    /// options); the NBD server above it sees a listener and connections,
    /// and speaks the protocol without any storage or service.
    @Test func onlyTheSocketWrapperBuildsSocketAddresses() throws {
        let sources = Self.root.appendingPathComponent("Sources")
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path)
        var users: [String] = []
        for module in modules where module != "AtRestSockets" {
            guard let files = FileManager.default.enumerator(at: sources.appendingPathComponent(module), includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                if try String(contentsOf: file, encoding: .utf8).contains("sockaddr") { users.append(module) }
            }
        }
        #expect(users.sorted() == [], "modules other than AtRestSockets build socket addresses")
        #expect(try links("AtRestSockets") == [])
        let nbd = try links("AtRestNBD")
        #expect(nbd == ["AtRestSockets"], "the NBD protocol library links \(nbd.sorted())")
    }

    /// Metrics and health (`--metrics-listen`) stand on the sockets alone:
    /// any service or tool can serve them without linking another's code, and
    /// the store reports its timings through a hook (`StorageObservation`)
    /// instead of linking the Prometheus registry.
    @Test func metricsLinkOnlyTheSockets() throws {
        #expect(try links("AtRestMetrics") == ["AtRestSockets"])
        #expect(try !links("AtRestStorage").contains("AtRestMetrics"))
        #expect(try links("AtRestStatus").contains("AtRestMetrics"), "calls are counted for status and metrics in one place")
    }

    /// The NBD protocol's state machine and codec do no I/O (fuzz-nbd drives
    /// them from bytes alone): only the server imports the sockets.
    @Test func theNBDProtocolIsPure() throws {
        let folder = Self.root.appendingPathComponent("Sources/AtRestNBD")
        for file in ["NBDSession.swift", "NBDWire.swift", "NBDExport.swift"] {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let imports = text.split(separator: "\n").filter { $0.hasPrefix("import ") || $0.contains(" import ") }
            #expect(imports == [], "\(file) imports \(imports)")
        }
    }

    /// (The fuzz targets' products are made from their target list, inside `if ATREST_FUZZ`.)
    @Test func everyExecutableIsAProduct() {
        let executables = manifest.targets.values.filter { $0.kind == .executableTarget && !$0.name.hasPrefix("fuzz-") }.map(\.name)
        #expect(Set(executables).subtracting(manifest.executableProducts).sorted() == [])
    }

    /// The fuzz targets (docs/FUZZING.md) are leaves: nothing links them or their driver shim.
    @Test func nothingLinksAFuzzTarget() {
        let fuzz = Set(manifest.targets.keys.filter { $0.hasPrefix("fuzz-") }).union(["CFuzzDriver"])
        #expect(fuzz.count == 12, "fuzz targets not read from Package.swift")
        for target in manifest.targets.values where !fuzz.contains(target.name) {
            #expect(target.dependencies.isDisjoint(with: fuzz), "\(target.name) links a fuzz target")
        }
    }

    /// Traces (docs/ARCHITECTURE.md "Traces"): the W3C codec and the JSON-lines
    /// exporter live in AtRestTracing alone (libraries use swift-distributed-tracing's
    /// vendor-neutral API); every service links the tracer through
    /// AtRestServiceKit; the contract and the client library link none.
    @Test func theTracerIsOneTargetThatServicesLinkAndClientsDoNot() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.(?:target|executableTarget|testTarget)\(\s*name:\s*"([^"]+)"[^)]*?\bw3cTraceContext\b"#)
        let codecUsers = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text))
            .map { String(text[Range($0.range(at: 1), in: text)!]) }
        #expect(codecUsers == ["AtRestTracing"])
        for executable in ["atrest-frontdoor", "atrest-worker", "atrest-keyvault", "atrest-identity", "atrest-nbd", "atrest"] {
            #expect(try links(executable).contains("AtRestTracing"), "\(executable) cannot trace")
        }
        for target in ["AtRestWire", "AtRestClient", "AtRestTokens", "AtRestCrypto"] {
            #expect(try !links(target).contains("AtRestTracing"), "\(target) links the tracer")
        }
    }

    /// scripts/test-lanes.sh (what scripts/test.sh runs) runs swift-testing
    /// suites only: an XCTest case would build and never run.
    @Test func everyTestIsASwiftTestingTest() throws {
        let tests = Self.root.appendingPathComponent("Tests")
        let files = try #require(FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil))
        var checked = 0
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            let importsXCTest = text.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("import XCTest") }
            #expect(!importsXCTest, "\(file.lastPathComponent) uses XCTest, which scripts/test-lanes.sh does not run")
            checked += 1
        }
        #expect(checked > 100)
    }

    @Test func noModuleImportsAModuleItDoesNotDeclare() throws {
        for target in manifest.targets.values where target.kind != .systemLibrary {
            let undeclared = try manifest.imports(of: target).subtracting(target.dependencies).subtracting([target.name])
            #expect(undeclared.sorted() == [], "\(target.name) imports modules it does not declare in Package.swift")
        }
    }
}
