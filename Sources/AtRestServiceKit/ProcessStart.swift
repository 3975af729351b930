import AtRestCrypto
import AtRestRuntime
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
    /// logging (`LogSetup`).
    public static func service(_ program: String, logLevel: String?) {
        EarlySignals.catchTermination()
        applyCryptoPolicy(program)
        LogSetup.bootstrap(level: logLevel)
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
