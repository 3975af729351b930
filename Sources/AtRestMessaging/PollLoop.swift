internal import CAtRestLinux
internal import CZeroMQ
import AtRestWire
import Foundation
import Synchronization

/// One thread that owns a group of sockets and polls them.
///
/// Why a thread per socket group: a ZeroMQ socket must be used by one thread
/// only, and a dedicated thread blocked in `zmq_poll` reacts to traffic with
/// no extra hand-off. Work from other threads (replies from handler tasks,
/// new calls) arrives through `submit`, which queues a closure and signals an
/// eventfd in the poll set; the loop drains the queue on its own thread. So a
/// call costs one hop from the loop into a handler task and one hop back.
///
/// Everything the loop's callbacks touch is confined to the loop thread.
final class PollLoop: @unchecked Sendable {
    /// Called on the loop thread when `sockets[index]` may be readable.
    var onReadable: (Int) -> Void = { _ in }
    /// Called on the loop thread every iteration with the monotonic time;
    /// returns how long the loop may sleep in milliseconds (-1: until woken).
    var onTick: (UInt64) -> Int = { _ in -1 }
    /// Called on the loop thread once the loop stops (close sockets here).
    var onStop: () -> Void = {}
    /// The sockets polled; change only on the loop thread or before `start`.
    var sockets: [ZMQSocket] = []
    /// Plain file descriptors polled after the sockets (a socket's ZMQ_FD
    /// when other threads also use that socket); `onReadable` sees them at
    /// index `sockets.count + i`. Set before `start`.
    var descriptors: [Int32] = []

    private let wakeup: Wakeup
    private let inbox = SleepingLock(Inbox())
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)

    private struct Inbox {
        var work: [@Sendable () -> Void] = []
        /// Set once the loop ran its inbox for the last time (tasks' jobs go elsewhere then).
        var closed = false
    }
    private let finished = DispatchSemaphore(value: 0)
    private let name: String
    private var threadID: pthread_t?

    init(name: String) throws {
        self.name = name
        wakeup = try Wakeup()
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.stackSize = 1 << 20
        started.store(true, ordering: .releasing)
        thread.start()
    }

    /// Runs `work` on the loop thread soon. Safe from any thread. From the
    /// loop thread itself there is no eventfd write: the loop runs its inbox
    /// again after its callbacks and does not sleep while it is not empty.
    func submit(_ work: @escaping @Sendable () -> Void) {
        let first = inbox.withLock { inbox in
            inbox.work.append(work)
            return inbox.work.count == 1
        }
        if first && !isLoopThread { wakeup.signal() }
    }

    /// Calls `onReadable` for every socket and descriptor now, as if all
    /// had signalled (loop thread): for descriptors whose signal another
    /// thread consumed.
    func recheck() {
        for index in 0..<(sockets.count + descriptors.count) { onReadable(index) }
    }

    /// Whether the caller is the loop thread.
    var isLoopThread: Bool {
        guard let threadID else { return false }
        return pthread_equal(threadID, pthread_self()) != 0
    }

    /// Stops the loop and waits for it to finish (unless called on it).
    func stop() {
        if !stopping.exchange(true, ordering: .acquiringAndReleasing) { wakeup.signal() }
        guard !isLoopThread, started.load(ordering: .acquiring) else { return }
        // Several threads may wait; each passes the signal on.
        finished.wait()
        finished.signal()
    }

    private func run() {
        threadID = pthread_self()
        // Named for `top -H`, perf and gdb (Linux allows 15 characters).
        atrest_linux_name_thread(String(name.prefix(15)))
        var items: [zmq_pollitem_t] = []
        while !stopping.load(ordering: .acquiring) {
            var timeout = onTick(monotonicNanos())
            if !inbox.withLock({ $0.work.isEmpty }) { timeout = 0 }  // work queued by the loop itself
            items.removeAll(keepingCapacity: true)
            items.append(zmq_pollitem_t(socket: nil, fd: wakeup.fd, events: Int16(ZMQ_POLLIN), revents: 0))
            for socket in sockets {
                items.append(zmq_pollitem_t(socket: socket.raw, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
            }
            for fd in descriptors {
                items.append(zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0))
            }
            let rc = zmq_poll(&items, Int32(items.count), timeout)
            if rc < 0 {
                if zmq_errno() == EINTR { continue }
                break  // ETERM: the context is going away.
            }
            if items[0].revents != 0 {
                wakeup.drain()
            }
            runInbox()
            if stopping.load(ordering: .acquiring) { break }
            let polled = sockets.count + descriptors.count
            for index in 0..<polled where index + 1 < items.count && items[index + 1].revents != 0 {
                onReadable(index)
            }
            // Tasks the callbacks resumed on this loop (`TaskExecutor`) run now, before the next poll.
            runInbox()
        }
        onStop()
        // Tasks that prefer this loop and were resumed by `onStop` (failed calls) finish here;
        // later ones run on a thread of their own (`enqueue`).
        runInbox(closing: true)
        onReadable = { _ in }
        onTick = { _ in -1 }
        onStop = {}
        sockets = []
        descriptors = []
        finished.signal()
    }

    private func runInbox(closing: Bool = false) {
        let work = inbox.withLock { inbox -> [@Sendable () -> Void] in
            let taken = inbox.work
            inbox.work.removeAll(keepingCapacity: !closing)
            if closing { inbox.closed = true }
            return taken
        }
        for job in work { job() }
    }
}

/// The loop as a task executor: a task that prefers it
/// (`withTaskExecutorPreference`) runs on the loop thread, so a reply the
/// loop receives resumes its caller right there, with no thread hand-off.
/// Only for code that does little between calls: while it runs, the loop
/// reads nothing.
extension PollLoop: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let run: @Sendable () -> Void = { job.runSynchronously(on: executor) }
        let (accepted, first) = inbox.withLock { inbox -> (Bool, Bool) in
            guard !inbox.closed else { return (false, false) }
            inbox.work.append(run)
            return (true, inbox.work.count == 1)
        }
        if !accepted {
            // The loop has stopped: the task still has to finish somewhere.
            Thread(block: run).start()
        } else if first && !isLoopThread {
            wakeup.signal()
        }
    }
}
