import AtRestTesting
import Testing

/// Starts one cluster for the suite it is attached to and stops it
/// afterwards (`@Suite(.cephDevCluster)`; the suite reads it from
/// `CephDevCluster.current`). Its own target because it imports Testing,
/// which only test targets may link (AtRestTesting is linked by atrest-bench).
public struct CephDevClusterTrait: SuiteTrait, TestScoping {
    public var osds = 1
    public var store = CephDevCluster.Store.memstore
    public var isRecursive: Bool { false }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await CephDevCluster.withRunning(osds: osds, store: store, function)
    }
}

extension Trait where Self == CephDevClusterTrait {
    public static var cephDevCluster: Self { CephDevClusterTrait() }

    public static func cephDevCluster(osds: Int, store: CephDevCluster.Store) -> Self { CephDevClusterTrait(osds: osds, store: store) }
}
