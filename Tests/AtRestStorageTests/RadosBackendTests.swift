@testable import AtRestBackends
import AtRestRados
import AtRestStorage
import AtRestTestTraits
import AtRestTesting
import Foundation
import Testing

extension BackendFactory {
    /// A `RadosBackend` on a fresh namespace of the cluster's pool, so each
    /// contract body starts empty (the namespace goes with the cluster).
    static func rados(_ ceph: CephDevCluster, stripeSize: Int = RadosBackend.defaultStripeSize) -> BackendFactory {
        BackendFactory(description: "rados") {
            (try await RadosBackend.connect(ceph.configuration, pool: ceph.pool, namespace: "t-\(UUID().uuidString)", stripeSize: stripeSize), {})
        }
    }
}

/// `RadosBackend` on a throwaway Ceph cluster (scripts/ceph-dev.sh,
/// memstore): the backend contract, the same bodies as `local`, and what
/// only RADOS has (strict version pinning, configuration errors, garbage
/// collection, two clients racing).
@Suite(.serialized, .cephDevCluster) struct RadosBackendTests {
    let ceph: CephDevCluster

    init() throws {
        ceph = try #require(CephDevCluster.current, "the suite's cluster did not start")
    }

    func backend(stripeSize: Int = RadosBackend.defaultStripeSize, namespace: String = "t-\(UUID().uuidString)") async throws -> RadosBackend {
        try await RadosBackend.connect(ceph.configuration, pool: ceph.pool, namespace: namespace, stripeSize: stripeSize)
    }

    @Test(arguments: BackendContractTests.bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await BackendContractTests.run(body, on: .rados(ceph))
    }

    @Test(arguments: RecordMapContractTests.bodies.map(\.0))
    func recordMaps(_ body: String) async throws {
        try await twoClients().run(body, of: RecordMapContractTests.bodies)
    }

    @Test(arguments: QueueStoreTests.bodies.map(\.0))
    func queues(_ body: String) async throws {
        try await twoClients().run(body, of: QueueStoreTests.bodies)
    }

    @Test(arguments: TableStoreTests.bodies.map(\.0))
    func tables(_ body: String) async throws {
        try await twoClients().run(body, of: TableStoreTests.bodies)
    }

    @Test(arguments: DiskStoreTests.bodies.map(\.0))
    func disks(_ body: String) async throws {
        try await twoClients().run(body, of: DiskStoreTests.bodies)
    }

    @Test(arguments: FileStoreTests.bodies.map(\.0))
    func files(_ body: String) async throws {
        try await twoClients().run(body, of: FileStoreTests.bodies)
    }

    @Test(arguments: ChunkedDataTests.bodies.map(\.0))
    func fileChunks(_ body: String) async throws {
        try await twoClients().run(body, of: ChunkedDataTests.bodies)
    }

    @Test(arguments: RecordReencryptionTests.bodies.map(\.0))
    func recordReencryption(_ body: String) async throws {
        try await twoClients().run(body, of: RecordReencryptionTests.bodies)
    }

    /// Two RADOS clients on one fresh namespace (two workers' connections).
    func twoClients() -> RecordMapFactory {
        let ceph = ceph
        return RecordMapFactory(description: "rados") {
            let namespace = "t-\(UUID().uuidString)"
            return (try await RadosBackend.connect(ceph.configuration, pool: ceph.pool, namespace: namespace),
                    try await RadosBackend.connect(ceph.configuration, pool: ceph.pool, namespace: namespace), {})
        }
    }

    /// RADOS pins strictly: a replaced or removed version fails, small
    /// (assert_version in the read op) or striped (its stripes are gone),
    /// except for the first bytes of an unstriped head, which `open` read
    /// in its own op (of the opened version, so never a mix either).
    @Test func replacedVersionsFailToRead() async throws {
        let backend = try await backend(stripeSize: 64 << 10)
        let container = try BackendContainer("a-pin/c-one")
        try await backend.createContainer(container)
        for (object, size) in [("o-small", 70_000), ("o-striped", 300_000)] {
            let name = try BackendName(container, object)
            let old = Fixtures.data(size, seed: 1)
            try await backend.put(name, old)
            let first = try await backend.open(name)
            #expect(try await first.read(at: 0, count: 10) == Array(old[0..<10]))
            try await backend.put(name, Fixtures.data(size, seed: 2))
            if object == "o-small" {
                #expect(try await first.read(at: 100, count: 1000) == Array(old[100..<1100]), "read with the open, no round trip")
            }
            await BackendContract.expectError(.conditionFailed) { try await first.read(at: 0, count: size) }
            let second = try await backend.open(name)
            try await backend.delete(name, condition: .none)
            await BackendContract.expectError(.conditionFailed) { try await second.read(at: 0, count: size) }
        }
    }

    /// An upload dropped unfinished (its caller failed) removes its stripes.
    @Test func droppedUploadRemovesItsStripes() async throws {
        let backend = try await backend(stripeSize: 64 << 10)
        let container = try BackendContainer("a-drop/c-one")
        try await backend.createContainer(container)
        do {
            let upload = try await backend.beginPut(try BackendName(container, "o-dropped"), condition: .none)
            // Eight stripes with four in flight: the first ones are written before the drop.
            try await upload.append(Fixtures.data(8 * (64 << 10) + 1))
        }
        let deadline = ContinuousClock.now + .seconds(30)
        var stripes: [String] = []
        repeat {
            stripes = try await backend.pool.objectNames().filter { $0.contains("@") }
            if stripes.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline
        #expect(stripes == [], "stripes left by the dropped upload")
    }

    /// Unreachable monitors, a missing pool, a user without write
    /// capability: `.io` errors naming what to fix, never key material.
    @Test func configurationErrorsNameMonitorsPoolAndUser() async throws {
        var configuration = BackendConfiguration(kind: .rados, cephConf: ceph.confFile, cephUser: "client.atrest",
                                                 keyringFile: ceph.keyringFile, pool: "no-such-pool", timeout: .seconds(3))
        var error = try await storageError { try await configuration.open() }
        #expect(error.code == .io && error.message.contains("'no-such-pool' does not exist"), "\(error)")

        let unreachable = ceph.directory + "/unreachable.conf"
        try "[global]\nmon host = [v2:127.0.0.1:1]\n".write(toFile: unreachable, atomically: true, encoding: .utf8)
        configuration.cephConf = unreachable
        configuration.pool = ceph.pool
        error = try await storageError { try await configuration.open() }
        #expect(error.code == .unavailable && error.message.contains("127.0.0.1:1"), "\(error)")

        let keyring = ceph.directory + "/client.looker.keyring"
        _ = try ceph.admin(["auth", "get-or-create", "client.looker", "mon", "allow r", "osd", "allow r pool=\(ceph.pool)", "-o", keyring])
        configuration = BackendConfiguration(kind: .rados, cephConf: ceph.confFile, cephUser: "looker", keyringFile: keyring, pool: ceph.pool)
        let reader = try await configuration.open()
        #expect(reader.kind == .rados)
        error = try await storageError { try await reader.createContainer(try BackendContainer("a-denied")) }
        #expect(error.code == .io && error.message.contains("client.looker") && error.message.contains("allow rw pool=\(ceph.pool)"), "\(error)")
        let key = try String(contentsOfFile: keyring, encoding: .utf8).split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "?"
        let leaksKey = error.message.contains(key)  // a Bool, so a failure cannot print the key
        #expect(!leaksKey, "no key material in errors")

        await BackendContract.expectError(.invalidArgument) { try await BackendConfiguration(kind: .local).open() }
        let directory = TempDirectory()
        defer { directory.remove() }
        #expect(try await BackendConfiguration(kind: .local, directory: directory.path).open().kind == .local)
    }

    func storageError(_ body: () async throws -> Any) async throws -> StorageError {
        do {
            _ = try await body()
        } catch let error as StorageError {
            return error
        }
        throw CephDevError(message: "expected a StorageError, the call succeeded")
    }
}
