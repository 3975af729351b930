import AtRestTesting
import Foundation
import Testing

/// Every service across a start/stop cycle (issue 12 §4): the test process
/// keeps no descriptor of it, and a stray SIGTERM or SIGINT, right after the
/// ready line or during start-up just before it, never kills it uncleanly
/// (killed by the signal, or exiting non-zero).
@Suite(.serialized) struct ServiceLifecycleTests {
    @Test(arguments: LifecycleService.allCases)
    func noDescriptorLeftOpenAcrossAStartStopCycle(_ service: LifecycleService) throws {
        // Synchronous on purpose: Foundation's Process gives the launching thread a run loop (epoll,
        // eventfd, timerfd) that lives as long as the thread; one thread keeps that out of the count.
        let deps = try LifecycleDependencies()
        func cycle() throws {
            let process = try ServiceProcess(service.rawValue, service.arguments(deps, data: deps.freshData(service)))
            #expect(!service.statusEndpoint(process).isEmpty)
            #expect(process.terminate() == 0)
        }
        // One cycle first: what the launcher makes once per thread or process is not a leak.
        try cycle()
        let before = openDescriptors()
        for _ in 0..<3 { try cycle() }
        // Descriptors close a moment after the process ends (the launcher's reader closes its pipe at EOF, a
        // finished thread's run loop its epoll/eventfd/timerfd): wait until none is new, bounded.
        func new() -> [Int32: String] { openDescriptors().filter { before[$0.key] != $0.value } }
        let deadline = ContinuousClock.now + .seconds(10)
        while !new().isEmpty, ContinuousClock.now < deadline { usleep(5_000) }
        let leaked = new()
        #expect(leaked.isEmpty, "\(service): descriptors left open: \(leaked.sorted { $0.key < $1.key })")
    }

    @Test(arguments: LifecycleService.allCases)
    func aSignalRightAfterTheReadyLineShutsDownGracefully(_ service: LifecycleService) throws {
        let deps = try LifecycleDependencies()
        for signal in [SIGTERM, SIGINT] {
            let launched = try LaunchedService(service, service.arguments(deps, data: deps.freshData(service)))
            #expect(launched.waitForReady())
            launched.signal(signal)
            let end = launched.waitForEnd()
            #expect(end?.killedBy == nil && end?.status == 0, "\(service) after signal \(signal): \(String(describing: end)); stderr: \(launched.stderr)")
            #expect(launched.stderr.contains(LifecycleService.shutdownLine), "\(service): \(launched.stderr)")
        }
    }

    /// Under `ServiceGroup` (issue 12 §3): SIGTERM twice in a row, SIGINT, and
    /// SIGINT after SIGTERM each end in exit status 0 after one graceful
    /// shutdown; the repeated signal neither kills the service nor cuts its
    /// drain short, nothing on stderr looks like a crash, and the test process
    /// keeps no descriptor of any of the runs.
    @Test(arguments: LifecycleService.allCases)
    func repeatedSignalsEndInOneCleanShutdown(_ service: LifecycleService) throws {
        let deps = try LifecycleDependencies()
        func run(_ signals: [Int32]) throws {
            let launched = try LaunchedService(service, service.arguments(deps, data: deps.freshData(service)))
            #expect(launched.waitForReady())
            for signal in signals { launched.signal(signal) }  // back to back: the second lands during the shutdown
            let end = launched.waitForEnd()
            let stderr = launched.stderr
            #expect(end?.killedBy == nil && end?.status == 0, "\(service) after \(signals): \(String(describing: end)); stderr: \(stderr)")
            #expect(stderr.components(separatedBy: LifecycleService.shutdownLine).count == 2, "\(service) after \(signals): \(stderr)")
            for crash in ["Fatal error", "Current stack trace", "Segmentation fault", "Illegal instruction", "💣"] {
                #expect(!stderr.contains(crash), "\(service) after \(signals): \(stderr)")
            }
        }
        try run([SIGTERM])  // one run first: what the launcher makes once per thread or process is not a leak
        let before = openDescriptors()
        for signals in [[SIGTERM, SIGTERM], [SIGINT], [SIGTERM, SIGINT]] { try run(signals) }
        func new() -> [Int32: String] { openDescriptors().filter { before[$0.key] != $0.value } }
        let deadline = ContinuousClock.now + .seconds(10)
        while !new().isEmpty, ContinuousClock.now < deadline { usleep(5_000) }
        #expect(new().isEmpty, "\(service): descriptors left open: \(new().sorted { $0.key < $1.key })")
    }

    @Test(arguments: LifecycleService.allCases)
    func aSignalDuringStartUpNeverKillsUncleanly(_ service: LifecycleService) throws {
        let deps = try LifecycleDependencies()
        // How long a start takes here, to aim the signal into its last part.
        let probe = try LaunchedService(service, service.arguments(deps, data: deps.freshData(service)))
        #expect(probe.waitForReady())
        let startUp = ContinuousClock.now - probe.started
        probe.signal(SIGTERM)
        _ = probe.waitForEnd()

        var before = 0
        // Fraction 0: the moment the handlers are in place, well before the
        // ready line however fast this start is compared with the probe's
        // (a loaded machine once made every aimed signal land after it).
        for (fraction, signal) in [(0.0, SIGTERM), (0.5, SIGINT), (0.9, SIGTERM), (0.9, SIGINT)] {
            let launched = try LaunchedService(service, service.arguments(deps, data: deps.freshData(service)))
            // From the moment the service can catch signals (its first instruction
            // installs the handlers), then into the given part of its start-up.
            while !launched.catchesTermination, !launched.isReady { usleep(100) }
            let aim = launched.started + startUp * fraction
            while ContinuousClock.now < aim, !launched.isReady { usleep(200) }
            let early = !launched.isReady
            if early { before += 1 }
            launched.signal(signal)
            let end = launched.waitForEnd()
            let clean = end?.killedBy == nil && end?.status == 0
            // Caught from the first instruction (ProcessStart.service): kept, then a graceful stop once serving.
            #expect(clean, "\(service) got signal \(signal) \(early ? "before" : "after") its ready line: \(String(describing: end))")
        }
        // The handlers are in place well before the ready line (not only from it on).
        #expect(before > 0, "\(service): every signal landed after the ready line")
    }
}
