import Dispatch
import Foundation
import Testing
@testable import AtRestStorage

/// `DirectorySync`: concurrent commits share directory fsyncs, and an
/// announced commit that never comes holds no one for long.
@Suite struct DirectorySyncTests {
    /// Runs `count` commits on their own threads: each announces itself,
    /// works for `i` × `step` (its `fdatasync`), then syncs the directory.
    private func commits(_ count: Int, step: Duration, in directory: String, _ sync: DirectorySync) throws {
        let errors = ErrorBox()
        let group = DispatchGroup()
        for _ in 0..<count { sync.expect(directory) }
        // Threads of their own, as the committing threads are (a dispatch queue
        // would add a thread only a while after its others block in `sync`).
        for i in 0..<count {
            group.enter()
            Thread {
                Thread.sleep(forTimeInterval: Double(i) * Double(step.components.attoseconds) / 1e18)
                do { try sync.sync(directory, expected: true) } catch { errors.set(error) }
                group.leave()
            }.start()
        }
        group.wait()
        if let error = errors.error { throw error }
    }

    @Test func announcedCommitsShareOneFsync() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        // A linger long enough that thread start-up on a loaded machine cannot outlast it.
        let sync = DirectorySync(linger: .seconds(10))
        // Four commits announced together, arriving 1 ms apart: the first waits for the others.
        try commits(4, step: .milliseconds(1), in: dir.path, sync)
        #expect(sync.fsyncCount == 1, "\(sync.fsyncCount) fsyncs for 4 announced commits")
        // Unannounced callers one after the other each get their own, as before.
        let before = sync.fsyncCount
        for _ in 0..<3 { try sync.sync(dir.path) }
        #expect(sync.fsyncCount == before + 3)
    }

    @Test func aWithdrawnOrLateCommitHoldsNoOneForLong() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        // Late: an announced commit that never arrives holds a caller only for
        // the default linger (1 ms) plus its fsync; the bound is generous for a loaded machine.
        let late = DirectorySync()
        late.expect(dir.path)
        var started = ContinuousClock.now
        try late.sync(dir.path)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(late.fsyncCount == 1)
        // Withdrawn: with a linger far beyond that bound, only the withdrawal lets the caller start at once.
        let withdrawn = DirectorySync(linger: .seconds(30))
        withdrawn.expect(dir.path)
        withdrawn.withdraw(dir.path)
        started = ContinuousClock.now
        try withdrawn.sync(dir.path)
        #expect(ContinuousClock.now - started < .seconds(5), "a withdrawn announcement still held the fsync back")
        #expect(withdrawn.fsyncCount == 1)
    }
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?
    func set(_ error: any Error) { lock.lock(); stored = error; lock.unlock() }
    var error: (any Error)? { lock.lock(); defer { lock.unlock() }; return stored }
}
