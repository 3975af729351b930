import Glibc
import Synchronization

/// SIGTERM and SIGINT from a process's first instruction until its
/// `ServiceGroup` takes them over.
///
/// swift-service-lifecycle traps signals only once `ServiceGroup.run()` has
/// begun (libdispatch signal sources, which install their own handler), that
/// is after a service has loaded its state and bound its sockets. Until then
/// the default action would kill the process without a graceful shutdown. So
/// `ProcessStart.service` installs this handler first: the first signal is
/// kept and `ServiceMain` stops the group gracefully as soon as it runs; a
/// second one before that ends the process at once (exit 128 + signal), so a
/// service stuck in start-up can still be stopped without SIGKILL.
public enum EarlySignals {
    /// 0 until the first signal is caught, then its number.
    private static let first = Atomic<Int32>(0)

    /// Installs the handler for SIGTERM and SIGINT (idempotent). The handler
    /// only does an atomic exchange and `_exit`, both async-signal-safe.
    public static func catchTermination() {
        _ = first.load(ordering: .relaxed)  // initialise the global before a handler can touch it
        for number in [SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                if !EarlySignals.first.compareExchange(expected: 0, desired: number, ordering: .relaxed).exchanged {
                    _exit(128 + number)
                }
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
    }

    /// The signal caught before the group's own handlers replaced this one
    /// (nil: none). Read it once they are in place (from a running service).
    public static var caught: Int32? {
        let number = first.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// Ignores SIGTERM and SIGINT from now on: the group has finished and the
    /// process is returning from main, so a late signal must not kill it.
    public static func ignoreFromNowOn() {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
    }
}
