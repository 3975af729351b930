import AtRestTesting
import AtRestTestTraits
import Foundation
import Synchronization
import Testing
import AtRestRados

/// The librados wrapper when things go wrong, on real ceph-dev clusters:
/// monitors unreachable at start, a missing pool, a user without write
/// capability or with a wrong key, and the cluster stopped under a write loop.
/// Each gets its typed error with a message an operator can act on, within
/// the configured timeout; no key material in any of them.
@Suite(.serialized, .cephDevCluster) struct RadosBadCaseTests {
    let ceph: CephDevCluster

    init() throws {
        ceph = try #require(CephDevCluster.current, "the suite's cluster did not start")
    }

    @Test func unreachableMonitorIsNamedWithinTheTimeout() throws {
        let port = try Self.closedPort()
        let conf = ceph.directory + "/unreachable.conf"
        try "[global]\nmon host = [v2:127.0.0.1:\(port)]\n".write(toFile: conf, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let error = try #require(throws: RadosError.self) {
            _ = try RadosCluster(RadosConfiguration(confFile: conf, user: "client.atrest", keyringFile: ceph.keyringFile, timeout: .seconds(2)))
        }
        let elapsed = ContinuousClock.now - started
        #expect(error.code == .unreachable, "\(error)")
        #expect(error.message.contains("127.0.0.1:\(port)"), "the message names the monitor: \(error.message)")
        #expect(error.message.contains("within 2 s"), "\(error.message)")
        #expect(elapsed < .seconds(12), "connect took \(elapsed), bound was 2 s")
        #expect(!error.message.contains("AQB"), "no key material in errors")
    }

    @Test func missingPoolIsNamed() throws {
        let cluster = try RadosCluster(ceph.configuration)
        let error = try #require(throws: RadosError.self) { _ = try cluster.openPool("no-such-pool") }
        #expect(error.code == .poolNotFound)
        #expect(error.message.contains("'no-such-pool' does not exist"), "\(error.message)")
    }

    /// A user made by `ceph-dev.sh user` with read-only capabilities reads but may not write.
    @Test func readOnlyUserWritingIsDenied() async throws {
        let keyring = try ceph.user("reader", ["mon", "allow r", "osd", "allow r pool=\(ceph.pool)"])
        #expect(keyring == ceph.directory + "/client.reader.keyring")
        let mode = try FileManager.default.attributesOfItem(atPath: keyring)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the keyring is the owner's alone")
        let pool = try RadosCluster(ceph.configuration).openPool(ceph.pool)
        let name = "perm-\(UUID().uuidString)"
        try await pool.writeFull(name, [7])
        let reader = try RadosCluster(RadosConfiguration(confFile: ceph.confFile, user: "reader", keyringFile: keyring)).openPool(ceph.pool)
        #expect(try await reader.read(name, length: 1) == [7], "the reader reads")

        let error = try #require(throws: RadosError.self) { try reader.writeFull(name, [8]) }
        #expect(error.code == .permissionDenied)
        for part in ["client.reader", "pool '\(ceph.pool)'", "osd 'allow rw pool=\(ceph.pool)'", "ceph auth get client.reader"] {
            #expect(error.message.contains(part), "the message says who lacks what: \(error.message)")
        }
        let asyncError = await #expect(throws: RadosError.self) { try await reader.writeFull(name, [8]) }
        #expect(asyncError?.code == .permissionDenied)
        #expect(asyncError?.message.contains("client.reader") == true, "\(asyncError?.message ?? "")")
        let removeError = await #expect(throws: RadosError.self) { try await reader.operate(name, RadosWriteOperation([.remove])) }
        #expect(removeError?.code == .permissionDenied)
        #expect(try await pool.read(name, length: 1) == [7], "nothing changed")
    }

    @Test func wrongKeyIsDenied() throws {
        let keyring = ceph.directory + "/client.atrest.wrong.keyring"
        // A well-formed key that is not client.atrest's.
        try "[client.atrest]\n\tkey = AQBNq0hlAAAAABAA0a0XbXyX0cBfMH0cAYQkMw==\n".write(toFile: keyring, atomically: true, encoding: .utf8)
        let error = try #require(throws: RadosError.self) {
            _ = try RadosCluster(RadosConfiguration(confFile: ceph.confFile, user: "client.atrest", keyringFile: keyring, timeout: .seconds(5)))
        }
        #expect(error.code == .permissionDenied, "\(error)")
        #expect(error.message.contains("client.atrest") && error.message.contains(keyring), "names the user and the keyring: \(error.message)")
        #expect(!error.message.contains("AQB"), "no key material in errors")
    }

    /// The cluster's daemons stop under a write loop: every call in flight and
    /// every later one fails with `.timedOut` within the configured 3 s (plus
    /// slack for a loaded machine), never hangs.
    @Test func stoppedClusterFailsCallsWithinTheTimeout() async throws {
        let doomed = try CephDevCluster.start(pool: "doomed")
        defer { try? doomed.stop() }
        let timeout = Duration.seconds(3), slack = Duration.seconds(10)
        let pool = try RadosCluster(doomed.configuration(timeout: timeout)).openPool(doomed.pool)

        let (acks, acked) = AsyncStream<Void>.makeStream()
        let writers = Task {
            let outcomes = await withTaskGroup(of: (RadosError?, ContinuousClock.Instant).self) { group in
                for writer in 0..<4 { group.addTask { await Self.writeUntilFailure(pool, writer: writer, acks: acked) } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            acked.finish()
            return outcomes
        }
        var count = 0
        for await _ in acks { count += 1; if count == 40 { break } }
        if count < 40 { Issue.record("the writers failed before the stop: \(await writers.value)"); return }
        try doomed.stop()
        let stopped = ContinuousClock.now

        let finished = await Self.outcome(within: timeout + slack) { await writers.value }
        let outcomes = try #require(finished, "the writers' calls still hang \(timeout + slack) after the cluster stopped")
        for (error, at) in outcomes {
            #expect(error?.code == .timedOut, "\(String(describing: error))")
            #expect(error?.message.contains("within 3 s") == true, "the message says how long it waited: \(String(describing: error))")
            #expect(at - stopped < timeout + slack)
        }
        let read = await Self.outcome(within: timeout + slack) { () -> RadosError? in
            do { _ = try await pool.read("w0-0", length: 1); return nil } catch { return error as? RadosError }
        }
        let later = try #require(read, "a read after the stop hangs")
        #expect(later?.code == .timedOut, "\(String(describing: later))")
        print("stopped cluster: \(outcomes.count) writers failed after \(outcomes.map { $0.1 - stopped }.max() ?? .zero), a later read after \(ContinuousClock.now - stopped)")
    }

    /// Writes 64 KiB objects until a call fails; that error and when it came.
    static func writeUntilFailure(_ pool: RadosPool, writer: Int, acks: AsyncStream<Void>.Continuation) async -> (RadosError?, ContinuousClock.Instant) {
        let data = [UInt8](repeating: UInt8(writer), count: 64 << 10)
        var i = 0
        while true {
            do {
                try await pool.writeFull("w\(writer)-\(i % 16)", data)
                acks.yield()
            } catch {
                return (error as? RadosError, .now)
            }
            i += 1
        }
    }

    /// `body`'s result, or nil when it has not finished within `limit` (its
    /// task is left behind: a librados call that hangs cannot be cancelled).
    static func outcome<T: Sendable>(within limit: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
        let once = Once<T?>()
        return await withCheckedContinuation { continuation in
            once.set(continuation)
            Task { once.resume(await body()) }
            Task { try? await Task.sleep(for: limit); once.resume(nil) }
        }
    }

    /// A continuation resumed by whichever caller comes first.
    final class Once<T: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)
        func set(_ c: CheckedContinuation<T, Never>) { continuation.withLock { $0 = c } }
        func resume(_ value: T) { continuation.withLock { $0.take() }?.resume(returning: value) }
    }

    /// A loopback port nothing listens on: bound, read back, closed.
    static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CephDevError(message: "could not bind a port") }
        return UInt16(bigEndian: address.sin_port)
    }
}
