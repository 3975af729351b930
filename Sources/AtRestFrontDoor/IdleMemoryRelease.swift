import AtRestMessaging
import AtRestRuntime

/// Returns the heap's free memory to the kernel once the broker has been
/// idle for a check interval after some activity.
///
/// MemoryTuning keeps freed multi-MiB buffers in the heap (mmap and trim
/// thresholds raised), so after a burst of large messages, e.g. a fuzzer's
/// or many clients' Puts at once, the front door's RSS stays at the burst's
/// peak (docs/OPERATIONS.md "Limits"). Trimming only when nothing changed
/// for `interval` keeps the busy path untouched.
enum IdleMemoryRelease {
    static func start(broker: Broker, interval: Duration = .seconds(2)) -> Task<Void, Never> {
        Task.detached {
            var last: BrokerStats?
            var released = true
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                let stats = await broker.stats()
                if stats != last {
                    released = false
                } else if !released, stats.queued == 0, stats.dispatched == 0 {
                    MemoryTuning.releaseFreeMemory()
                    released = true
                }
                last = stats
            }
        }
    }
}
