import Foundation
import Synchronization

/// Scratch directories a test process made (under /tmp), removed when the
/// process exits normally (`atexit`): how a suite's fixtures that are not
/// owned by one test — a harness made per test and never torn down, a
/// Python virtual environment shared by the suite — leave nothing behind.
/// Each suite runs in a process of its own (scripts/test-lanes.sh), so its
/// directories go when it ends. A process that is killed leaves them; the
/// directories that hold what outlives a process (Ceph daemons, mounts)
/// use `ExitCleanup` instead.
public enum ScratchDirectories {
    private static let paths = Mutex<[String]>([])
    private static let installed: Void = { atexit { ScratchDirectories.removeAll() } }()

    /// Removes `path` (recursively) when this process exits.
    public static func removeAtExit(_ path: String) {
        _ = installed
        paths.withLock { $0.append(path) }
    }

    private static func removeAll() {
        for path in paths.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }
}
