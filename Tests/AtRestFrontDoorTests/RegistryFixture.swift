import AtRestStorage
import Testing
@testable import AtRestFrontDoor

extension AccountRegistry {
    /// A registry as the front door opens it: data directory `directory`,
    /// `local` backend at `backend` (default: `<directory>/registry-store`).
    static func forTest(_ directory: String, backend: String? = nil, refreshInterval: Duration = .seconds(1)) async throws -> AccountRegistry {
        try await open(dataDirectory: directory, backend: LocalBackend(directory: backend ?? "\(directory)/registry-store"),
                       refreshInterval: refreshInterval)
    }
}

/// Waits until `condition` holds (an asynchronous effect, not a timing
/// assertion): checked every 20 ms, fails the test after `timeout`.
/// Returns how long it took.
@discardableResult
func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Duration {
    let start = ContinuousClock.now
    while try await !condition() {
        guard ContinuousClock.now - start < timeout else {
            Issue.record("timed out after \(timeout) waiting for \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return ContinuousClock.now - start
}
