import Glibc
import Logging
import ServiceLifecycle

/// How every AtRest executable serves: its services in one `ServiceGroup`
/// that shuts down gracefully on SIGTERM or SIGINT, the ready line printed
/// once the group runs (docs/ARCHITECTURE.md "Lifecycle").
///
/// - The ready line comes from a small service of the group, so it is
///   printed only after the group's signal handlers are in place; a signal
///   caught before that (`EarlySignals`) then stops the group gracefully.
/// - A second SIGTERM/SIGINT during the drain is ignored (no
///   `cancellationSignals`): cancelling would drop calls in flight, so a
///   service that must stop at once gets SIGKILL (docs/OPERATIONS.md "Signals").
/// - Services shut down in reverse order of `services`; one that ends or
///   fails shuts the others down gracefully, and `run` rethrows its error.
public enum ServiceMain {
    public static func run(_ services: [any Service], ready: String, logger: Logger) async throws {
        var configurations = services.map {
            ServiceGroupConfiguration.ServiceConfiguration(
                service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        configurations.append(.init(service: ReadyAnnouncement(line: ready, logger: logger),
                                    successTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: configurations, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        defer { EarlySignals.ignoreFromNowOn() }
        try await group.run()
    }
}

/// Prints the ready line once the group runs, then hands the early signal
/// (if any) over to the group and logs the start of the graceful shutdown.
struct ReadyAnnouncement: Service {
    let line: String
    let logger: Logger

    func run() async throws {
        print(line)
        fflush(nil)  // flush stdout even when it is a pipe
        if let early = EarlySignals.caught {
            logger.notice("received signal \(early) during start-up, shutting down gracefully")
            return  // ends the group gracefully (successTerminationBehavior)
        }
        try? await gracefulShutdown()
        logger.notice("shutting down gracefully")
    }
}
