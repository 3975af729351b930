import AtRestBackends
import AtRestStorage
import Testing

/// Flags to `BackendConfiguration`: defaults, and wrong combinations refused naming the flag.
@Suite struct BackendConfigurationTests {
    @Test func radosFlagsFillTheConfiguration() throws {
        let configuration = try BackendConfiguration(backend: "rados", dataDirectory: "", cephConf: "/c/ceph.conf", cephUser: "client.w",
                                                     keyringFile: "/c/k", pool: "p")
        #expect(configuration == BackendConfiguration(kind: .rados, cephConf: "/c/ceph.conf", cephUser: "client.w", keyringFile: "/c/k", pool: "p"))
        let defaults = try BackendConfiguration(backend: "rados", dataDirectory: "")
        #expect(defaults.cephConf == "/etc/ceph/ceph.conf" && defaults.cephUser == "client.atrest" && defaults.pool == "atrest" && defaults.keyringFile == nil)
        #expect(defaults.timeout == .seconds(10))
        #expect(try BackendConfiguration(backend: "rados", dataDirectory: "", timeoutSeconds: 3).timeout == .seconds(3))
    }

    @Test func wrongCombinationsNameTheFlag() {
        #expect(message { try BackendConfiguration(backend: "local", dataDirectory: "/d", pool: "p") }?.contains("--pool apply to --backend rados only") == true)
        #expect(message { try BackendConfiguration(backend: "local", dataDirectory: "") }?.contains("--data-dir") == true)
        #expect(message { try BackendConfiguration(backend: "rados", dataDirectory: "", pool: "") }?.contains("--pool must not be empty") == true)
        #expect(message { try BackendConfiguration(backend: "s3", dataDirectory: "/d") }?.contains("unknown backend 's3'") == true)
        #expect(message { try BackendConfiguration(backend: "local", dataDirectory: "/d", timeoutSeconds: 3) }?
            .contains("--ceph-timeout apply to --backend rados only") == true)
        for seconds in [0, -1, 301] {
            #expect(message { try BackendConfiguration(backend: "rados", dataDirectory: "", timeoutSeconds: seconds) }?
                .contains("--ceph-timeout must be 1 to 300 seconds, not \(seconds)") == true)
        }
        #expect((try? BackendConfiguration(backend: "local", dataDirectory: "/d")) == BackendConfiguration(kind: .local, directory: "/d"))
    }

    func message(_ body: () throws -> BackendConfiguration) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? StorageError).map { $0.code == .invalidArgument ? $0.message : "\($0)" }
        }
    }
}
