import AtRestCrypto
import AtRestRuntime
import AtRestTracing
import Foundation

/// What every AtRest executable does first.
///
/// The crypto policy comes before anything else: OpenSSL algorithms are
/// fetched once per process and kept, so `ATREST_FIPS=1` must take effect
/// before the first crypto call (docs/OPERATIONS-crypto.md). A process that
/// was asked for FIPS and cannot have it exits at once, naming the missing
/// provider, instead of running outside FIPS mode.
public enum ProcessStart {
    /// A service: SIGTERM/SIGINT caught from the first instruction on (a
    /// signal during start-up is kept and stops the service gracefully once it
    /// serves; see `EarlySignals`), the crypto policy, then
    /// logging (`LogSetup`) and tracing (`observe`).
    public static func service(_ program: String, logLevel: String?, observability: ObservabilityOptions) {
        EarlySignals.catchTermination()
        applyCryptoPolicy(program)
        observe(program, logLevel: logLevel, observability)
    }

    /// Logging in `--log-format` (with `call_id` and `trace_id`) and the
    /// tracer of `--trace-file` (`TracingSetup`); exits with status 1 when
    /// the trace file cannot be opened.
    public static func observe(_ program: String, logLevel: String?, _ observability: ObservabilityOptions) {
        LogSetup.bootstrap(level: logLevel, format: observability.logFormat, service: program,
                           metadataProviders: [TraceLog.metadataProvider])
        do {
            try TracingSetup.bootstrap(service: program, file: observability.traceFile, sampleRatio: observability.traceSampleRatio)
        } catch {
            FileHandle.standardError.write(Data("\(program): cannot start: \(error)\n".utf8))
            exit(1)
        }
    }

    /// Applies `CryptoPolicy.applyFromEnvironment()`; on failure prints
    /// "<program>: cannot start: …" on stderr and exits with status 1.
    public static func applyCryptoPolicy(_ program: String) {
        do {
            try CryptoPolicy.applyFromEnvironment()
        } catch {
            FileHandle.standardError.write(Data("\(program): cannot start: \(error)\n".utf8))
            exit(1)
        }
    }
}
