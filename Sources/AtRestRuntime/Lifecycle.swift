import Foundation
import Glibc
import Synchronization

/// Something a process runs until it is asked to stop.
///
/// `run()` serves until `shutdown()` is called (or fails); `shutdown()` must
/// make `run()` return promptly after finishing in-flight work (graceful), and
/// may be called more than once.
public protocol LifecycleService: Sendable {
    var name: String { get }
    func run() async throws
    func shutdown() async
}

/// Runs services together: all start at once; the first SIGTERM/SIGINT (or
/// any service failing) shuts them down in reverse order; a second signal
/// exits at once.
public enum ServiceRunner {
    public static func run(_ services: [any LifecycleService], log: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let signals = SignalWatcher.start([SIGTERM, SIGINT])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            group.addTask {
                guard let signal = await signals.next() else { return }
                log("received signal \(signal), shutting down")
                for service in services.reversed() { await service.shutdown() }
                // A second signal ends the process without waiting.
                guard let second = await signals.next() else { return }
                log("received signal \(second) again, exiting now")
                exit(1)
            }
            // The first service to return (or throw) ends the run; the others
            // are shut down in reverse order and awaited.
            var failure: (any Error)?
            do { try await group.next() } catch { failure = error }
            for service in services.reversed() { await service.shutdown() }
            signals.cancel()
            while true {
                do { guard try await group.next() != nil else { break } } catch { failure = failure ?? error }
            }
            if let failure { throw failure }
        }
    }
}

/// Delivers POSIX signals as async values.
///
/// A classic self-pipe: the C handler only `write`s the signal number to a
/// pipe (async-signal-safe) and a thread reads it. (A dispatch signal source
/// would need SIG_IGN, and on Linux an ignored signal is discarded before
/// anything can see it.) While watched, the signals no longer kill the
/// process, so a service decides how to stop.
public final class SignalWatcher: Sendable {
    private let state = Mutex<(pending: [Int32], waiters: [CheckedContinuation<Int32?, Never>], cancelled: Bool)>(([], [], false))

    private init() {}

    public static func start(_ signals: [Int32]) -> SignalWatcher {
        let watcher = SignalWatcher()
        SignalPipe.shared.add(watcher, for: signals)
        return watcher
    }

    /// Catches SIGTERM and SIGINT from now on, before any watcher exists: a
    /// signal that arrives early is kept and handed to the first watcher of
    /// it, instead of killing the process without a graceful shutdown. A
    /// second one before any watcher exists ends the process at once (exit
    /// 128 + signal), so a service stuck in start-up can still be stopped
    /// without SIGKILL. Services call this first (`ProcessStart.service`);
    /// `ReadyLine.announce` calls it too, for any other program.
    public static func catchTermination() {
        SignalPipe.shared.install([SIGTERM, SIGINT])
    }

    fileprivate func deliver(_ number: Int32) {
        let waiter: CheckedContinuation<Int32?, Never>? = state.withLock { state in
            if state.cancelled { return nil }
            if state.waiters.isEmpty {
                state.pending.append(number)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: number)
    }

    /// The next signal received, or nil once `cancel()` was called.
    public func next() async -> Int32? {
        await withCheckedContinuation { continuation in
            let ready: (Int32?, Bool) = state.withLock { state in
                if !state.pending.isEmpty { return (state.pending.removeFirst(), true) }
                if state.cancelled { return (nil, true) }
                state.waiters.append(continuation)
                return (nil, false)
            }
            if ready.1 { continuation.resume(returning: ready.0) }
        }
    }

    /// Stops delivering; pending and future `next()` calls return nil. The
    /// signals stay caught (a late SIGTERM must not kill a process that is
    /// finishing its shutdown).
    public func cancel() {
        SignalPipe.shared.remove(self)
        let waiters = state.withLock { state in
            state.cancelled = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}

/// The write end of the self-pipe, read by the C signal handler.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

/// The process-wide self-pipe and the watchers it feeds.
private final class SignalPipe: Sendable {
    static let shared = SignalPipe()
    private let watchers = Mutex<(list: [(signals: Set<Int32>, watcher: SignalWatcher)], unclaimed: [Int32])>(([], []))

    private init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe() failed: errno \(errno)")
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        signalPipeWriteFD = fds[1]
        let readFD = fds[0]
        let thread = Thread { [unowned self] in self.readLoop(readFD) }
        thread.start()
    }

    func add(_ watcher: SignalWatcher, for signals: [Int32]) {
        install(signals)
        let wanted = Set(signals)
        let early: [Int32] = watchers.withLock { state in
            state.list.append((wanted, watcher))
            let early = state.unclaimed.filter { wanted.contains($0) }
            state.unclaimed.removeAll { wanted.contains($0) }
            return early
        }
        for number in early { watcher.deliver(number) }
    }

    /// Installs the pipe-writing handler for `signals` (idempotent).
    func install(_ signals: [Int32]) {
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteFD, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
    }

    func remove(_ watcher: SignalWatcher) {
        watchers.withLock { $0.list.removeAll { $0.watcher === watcher } }
    }

    private func readLoop(_ fd: Int32) {
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else { return }
            let number = Int32(byte)
            let (targets, again): ([SignalWatcher], Bool) = watchers.withLock { state in
                let targets = state.list.filter { $0.signals.contains(number) }.map(\.watcher)
                let again = targets.isEmpty && state.unclaimed.contains { $0 == SIGTERM || $0 == SIGINT }
                if targets.isEmpty { state.unclaimed.append(number) }
                return (targets, again)
            }
            if again, number == SIGTERM || number == SIGINT { _exit(128 + number) }
            for watcher in targets { watcher.deliver(number) }
        }
    }
}
