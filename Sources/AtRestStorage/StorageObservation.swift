import Synchronization

/// Where the store reports the timing of its durable writes and the size of
/// its group commits, for the worker's `/metrics` (docs/OPERATIONS.md
/// "Metrics and health"). Nothing is timed until an observer is installed.
public struct StorageObserver: Sendable {
    /// `kind`: "data" (fdatasync of a written file) or "directory" (fsync of a directory after a rename).
    public var fsync: @Sendable (_ kind: String, _ duration: Duration) -> Void
    /// A whole durable file write: data synced, published, directory synced.
    public var write: @Sendable (_ duration: Duration) -> Void
    /// One group commit of a record map: the batches it carried and its duration.
    public var groupCommit: @Sendable (_ batches: Int, _ duration: Duration) -> Void

    public init(fsync: @escaping @Sendable (String, Duration) -> Void, write: @escaping @Sendable (Duration) -> Void,
                groupCommit: @escaping @Sendable (Int, Duration) -> Void) {
        self.fsync = fsync
        self.write = write
        self.groupCommit = groupCommit
    }
}

public enum StorageObservation {
    /// What the store times.
    enum Timing {
        /// fdatasync of a written file.
        case dataSync
        /// fsync of a directory after a rename.
        case directorySync
        /// A whole durable file write.
        case write
        /// One group commit of a record map, carrying `batches` batches.
        case groupCommit(batches: Int)
    }

    /// The observer in a class, so reading it copies one reference, not three closures.
    private final class Installed: Sendable {
        let observer: StorageObserver
        init(_ observer: StorageObserver) { self.observer = observer }
    }

    private static let installed = Mutex<Installed?>(nil)
    private static let active = Atomic<Bool>(false)

    /// Installs the process's observer (the worker does, when metrics are on).
    public static func install(_ observer: StorageObserver) {
        installed.withLock { $0 = Installed(observer) }
        active.store(true, ordering: .releasing)
    }

    /// Pauses (false) or resumes (true) the installed observer; nothing
    /// is timed while paused, as with none installed.
    public static func setActive(_ active: Bool) {
        installed.withLock { observer in
            Self.active.store(active && observer != nil, ordering: .releasing)
        }
    }

    /// Whether timings are taken now (one atomic load: all a put pays with metrics off or paused).
    @inline(__always)
    static var isActive: Bool { active.load(ordering: .acquiring) }

    /// Runs `body`, reporting its duration as `timing` when an observer is
    /// installed and active. Allocates nothing: the clock is read twice and
    /// the observer called once (docs/BENCHMARKS.md "Metrics on vs off").
    @inline(__always)
    static func timed<R>(_ timing: Timing, _ body: () throws -> R) rethrows -> R {
        guard isActive else { return try body() }
        let started = ContinuousClock.now
        let result = try body()
        report(timing, ContinuousClock.now - started)
        return result
    }

    /// Reports one timing to the installed observer (none: nothing).
    static func report(_ timing: Timing, _ duration: Duration) {
        guard let observer = installed.withLock({ $0 })?.observer else { return }
        switch timing {
        case .dataSync: observer.fsync("data", duration)
        case .directorySync: observer.fsync("directory", duration)
        case .write: observer.write(duration)
        case .groupCommit(let batches): observer.groupCommit(batches, duration)
        }
    }
}
