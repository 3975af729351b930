import AtRestRuntime
import ServiceLifecycle

/// The front door under `ServiceMain`: it serves on the broker's threads
/// from `init` on; `run()` waits for the graceful shutdown, then closes.
extension FrontDoor: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// `ready atrest-frontdoor endpoint=<clients> workers=<workers>`.
    public var readyLine: String {
        ReadyLine.format(name: "atrest-frontdoor", endpoint: clientEndpoint, extra: [("workers", workerEndpoint)])
    }
}
