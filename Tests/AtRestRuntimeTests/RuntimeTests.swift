import Glibc
import Synchronization
import Testing
@testable import AtRestRuntime

@Suite struct RuntimeTests {
    @Test func allocatorSettingsReachGlibc() {
        // mallopt answers 1 for each setting it accepted (through CAtRestLinux).
        #expect(MemoryTuning.keepLargeBuffers())
    }

    @Test func readyLineRoundTrips() throws {
        let line = ReadyLine.format(name: "atrest-vault", endpoint: "tcp://127.0.0.1:5555", extra: [("events", "tcp://127.0.0.1:5556")])
        #expect(line == "ready atrest-vault endpoint=tcp://127.0.0.1:5555 events=tcp://127.0.0.1:5556")
        let parsed = try #require(ReadyLine.parse(line))
        #expect(parsed.name == "atrest-vault")
        #expect(parsed.fields["endpoint"] == "tcp://127.0.0.1:5555")
        #expect(parsed.fields["events"] == "tcp://127.0.0.1:5556")
        #expect(ReadyLine.parse("starting up") == nil)
    }

    @Test func signalsArriveAsValuesInsteadOfKilling() async {
        let watcher = SignalWatcher.start([SIGUSR2])
        defer { watcher.cancel() }
        kill(getpid(), SIGUSR2)  // not raise(): pool threads block signals
        let received = await watcher.next()
        #expect(received == SIGUSR2)
    }

    final class StopLog: Sendable {
        private let order = Mutex<[String]>([])
        private let running = Mutex<Set<String>>([])
        func start(_ name: String) { _ = running.withLock { $0.insert(name) } }
        var runningCount: Int { running.withLock { $0.count } }
        func stop(_ name: String) { order.withLock { if !$0.contains(name) { $0.append(name) } } }
        func isStopped(_ name: String) -> Bool { order.withLock { $0.contains(name) } }
        var stopOrder: [String] { order.withLock { $0 } }
    }

    struct Recorder: LifecycleService {
        let name: String
        let log: StopLog
        func run() async throws {
            log.start(name)
            while !log.isStopped(name) { try await Task.sleep(for: .milliseconds(5)) }
        }
        func shutdown() async { log.stop(name) }
    }

    @Test func servicesStopInReverseOrderOnSignal() async throws {
        let log = StopLog()
        let services = [Recorder(name: "a", log: log), Recorder(name: "b", log: log)]
        async let run: Void = ServiceRunner.run(services)
        // Both services running means the runner's signal watcher is installed (it starts first).
        while log.runningCount < services.count { try await Task.sleep(for: .milliseconds(1)) }
        kill(getpid(), SIGTERM)
        try await run
        #expect(log.stopOrder == ["b", "a"])
    }
}

