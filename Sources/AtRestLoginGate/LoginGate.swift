import Dispatch
import Glibc
import AtRestWire
import Synchronization

/// Bounds password hashing, the one expensive thing a caller without a
/// token can make the identity service do (PBKDF2, about a second of CPU
/// per login at the default cost on a small machine).
///
/// Two lanes with their own slots: logins forwarded by the front door
/// (marked with `sourceMetadataKey`, which the front door sets to the
/// client's connection and clients cannot set), at most `maxPublic` at once
/// in total and `maxPerSource` per connection, the excess answered
/// RESOURCE_EXHAUSTED with `retry_after_ms` at once, never queued; and
/// logins that come to the identity's own endpoint (the services, behind
/// CURVE in production, few and trusted), at most `maxDirect` at once, the
/// rest waiting in order for a slot until their deadline (services starting
/// together must all get their tokens), up to `maxDirectWaiting`. Admitted hashes run on serial dispatch queues of
/// their own (one per slot, so each gets a thread), never on the
/// cooperative pool: WhoAmI, Keys, token checks and the services' calls
/// keep their threads whatever a flood of logins does.
public final class LoginGate: Sendable {
    public struct Policy: Sendable {
        public var maxPublic: Int = 2
        public var maxPerSource: Int = 1
        public var maxDirect: Int = 2
        /// Direct logins waiting for a slot beyond this are refused like forwarded ones.
        public var maxDirectWaiting: Int = 64
        public var retryAfterMs: UInt32 = 1000
        public init() {}
    }

    /// Metadata the front door puts on a forwarded Login: the caller's connection (hex).
    public static let sourceMetadataKey = "atrest-internal-login-source"
    public static let loginMethod = IdentityMethod.login.name

    package enum Lane: Equatable {
        case direct
        case forwarded(source: String)
    }

    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Int, any Error>
    }

    struct State {
        var freeSlots: [Int]
        var waiters: [Waiter] = []
        /// Direct logins between asking and getting a slot, and those of them cancelled before they queued.
        var asking: Set<UInt64> = []
        var cancelled: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
        var direct = 0
        var forwarded = 0
        var perSource: [String: Int] = [:]
    }

    let policy: Policy
    private let queues: [DispatchQueue]
    let state: Mutex<State>

    public init(policy: Policy) {
        self.policy = policy
        let slots = max(1, policy.maxPublic) + max(1, policy.maxDirect)
        queues = (0..<slots).map { DispatchQueue(label: "atrest.identity.hash.\($0)") }
        state = Mutex(State(freeSlots: Array(0..<slots)))
    }

    /// The lane of a login: forwarded when the front door marked it.
    package static func lane(_ header: RPCHeader) -> Lane {
        header.metadata[sourceMetadataKey].map { .forwarded(source: $0) } ?? .direct
    }

    /// Runs `work` on a hashing thread once `lane` has a free slot: a
    /// forwarded login is RESOURCE_EXHAUSTED at once if not, a direct one waits.
    package func run<T: Sendable>(_ lane: Lane, _ work: @escaping @Sendable () -> T) async throws -> T {
        let slot = lane == .direct ? try await waitForDirectSlot() : try admit(lane)
        defer { release(lane, slot: slot) }
        return await withCheckedContinuation { continuation in
            queues[slot].async {
                Self.lowerPriorityOfThisThread()
                continuation.resume(returning: work())
            }
        }
    }

    func admit(_ lane: Lane) throws(RPCStatus) -> Int {
        let slot: Int? = state.withLock { state in
            switch lane {
            case .direct:
                guard state.direct < policy.maxDirect else { return nil }
                state.direct += 1
            case .forwarded(let source):
                guard state.forwarded < policy.maxPublic, state.perSource[source, default: 0] < policy.maxPerSource else { return nil }
                state.forwarded += 1
                state.perSource[source, default: 0] += 1
            }
            return state.freeSlots.popLast()
        }
        guard let slot else {
            throw RPCStatus(.resourceExhausted, lane == .direct
                ? "too many logins are being checked at once on the identity endpoint; retry after retry_after_ms"
                : "too many logins are being checked at once (from this connection or in all); retry after retry_after_ms",
                retryAfterMs: policy.retryAfterMs)
        }
        return slot
    }

    func release(_ lane: Lane, slot: Int) {
        let next = state.withLock { state -> Waiter? in
            if lane == .direct, !state.waiters.isEmpty {
                // Hand the slot straight to the next waiting service login.
                let next = state.waiters.removeFirst()
                state.asking.remove(next.id)
                return next
            }
            state.freeSlots.append(slot)
            switch lane {
            case .direct:
                state.direct -= 1
            case .forwarded(let source):
                state.forwarded -= 1
                let left = state.perSource[source, default: 1] - 1
                state.perSource[source] = left > 0 ? left : nil
            }
            return nil
        }
        next?.continuation.resume(returning: slot)
    }

    /// Hashing threads run at nice +10 (on Linux `setpriority` with
    /// PRIO_PROCESS 0 changes only the calling thread), so under load the
    /// kernel runs the service's other threads first. Raising niceness needs
    /// no privilege; the thread keeps it (these queues' threads only hash).
    private static func lowerPriorityOfThisThread() {
        let thisThread = __priority_which_t(PRIO_PROCESS.rawValue)
        if getpriority(thisThread, 0) < hashingNice { _ = setpriority(thisThread, 0, hashingNice) }
    }

    static let hashingNice: Int32 = 10

    /// Runs `body` (forwarding a login) while holding a slot of the
    /// forwarded lane for `source`; RESOURCE_EXHAUSTED at once when none is
    /// free. The front door applies the same limits before it forwards, so
    /// a flood is refused there and never reaches the identity service.
    public func whileForwarding<T>(source: String, _ body: () async throws -> T) async throws -> T {
        let lane = Lane.forwarded(source: source)
        let slot = try admit(lane)
        defer { release(lane, slot: slot) }
        return try await body()
    }

    /// Direct logins waiting for a slot (tests).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Hashes running now (tests).
    var running: (direct: Int, forwarded: Int) { state.withLock { ($0.direct, $0.forwarded) } }
}
