import AtRestStorage
import Testing

/// A fresh, empty backend for one contract test, and how to drop it.
struct BackendFactory: Sendable, CustomStringConvertible {
    var description: String
    var make: @Sendable () async throws -> (backend: any StorageBackend, cleanup: @Sendable () -> Void)

    static let local = BackendFactory(description: "local") {
        let directory = TempDirectory()
        return (try LocalBackend(directory: directory.path), { directory.remove() })
    }

    /// Every backend the contract runs against here (`rados` needs a Ceph
    /// cluster: `RadosBackendTests` runs the same bodies on one).
    static let all: [BackendFactory] = [.local]
}

/// The `StorageBackend` contract (`BackendContract`) against every backend.
@Suite struct BackendContractTests {
    static let bodies: [(String, @Sendable (any StorageBackend) async throws -> Void)] = [
        ("roundTripAndRanges", BackendContract.roundTripAndRanges),
        ("exclusiveCreateRace", BackendContract.exclusiveCreateRace),
        ("compareAndSwapRace", BackendContract.compareAndSwapRace),
        ("lastWriterWinsWhole", BackendContract.lastWriterWinsWhole),
        ("conditionalDelete", BackendContract.conditionalDelete),
        ("openedVersionAndAbort", BackendContract.openedVersionAndAbort),
        ("listPages", BackendContract.listPages),
        ("containers", BackendContract.containers),
        ("largeObjectsAndRanges", BackendContract.largeObjectsAndRanges),
        ("listManyNames", BackendContract.listManyNames),
        ("childContainersInList", BackendContract.childContainersInList),
        ("openedVersionsArePinned", BackendContract.openedVersionsArePinned),
        ("sealedBuffersAndMixedAppends", BackendContract.sealedBuffersAndMixedAppends),
    ]

    @Test(arguments: BackendFactory.all, bodies.map(\.0))
    func contract(_ factory: BackendFactory, _ body: String) async throws {
        try await Self.run(body, on: factory)
    }

    static func run(_ body: String, on factory: BackendFactory) async throws {
        let (backend, cleanup) = try await factory.make()
        defer { cleanup() }
        try await bodies.first { $0.0 == body }!.1(backend)
    }
}
