/// A call the fair queue can hold: it knows its client (the ROUTER peer
/// identity) and how many bytes it keeps in memory while it waits.
protocol FairlyQueued {
    var client: [UInt8] { get }
    var queuedBytes: Int { get }
}

/// Calls waiting for a worker, one FIFO per client, served round-robin: a
/// client's next call is dispatched after at most one call of every other
/// client with calls waiting, however many calls each of them has queued.
///
/// Also counts each client's calls *outstanding* (queued, or dispatched and
/// not yet answered: the broker calls `finished` when one ends), so the
/// broker can refuse a client's excess calls at once. Confined to one loop
/// thread; a client's state is forgotten when it has nothing outstanding.
struct FairCallQueue<Element: FairlyQueued> {
    struct Limits: Sendable, Equatable {
        /// Calls one client may have queued or running at once.
        var callsPerClient: Int
        /// Bytes one client's queued calls may hold (a call is always
        /// admitted when the client has nothing queued).
        var queuedBytesPerClient: Int
        /// Calls queued over all clients.
        var totalQueued: Int
    }

    enum Refusal: Equatable {
        case clientCalls, clientBytes, total
    }

    private struct Lane {
        var calls = CallQueue<Element>()
        var outstanding = 0
        var bytes = 0
    }

    let limits: Limits
    private var lanes: [[UInt8]: Lane] = [:]
    /// Clients with queued calls, in service order from `head`.
    private var ring: [[UInt8]] = []
    private var head = 0
    private(set) var count = 0

    init(limits: Limits) { self.limits = limits }

    var isEmpty: Bool { count == 0 }

    /// Clients with calls queued or running.
    var clients: Int { lanes.count }

    /// Calls of `client` queued or running.
    func outstanding(_ client: [UInt8]) -> Int { lanes[client]?.outstanding ?? 0 }

    /// Why `client` may not queue another call of `bytes` now, or nil.
    func refusal(client: [UInt8], bytes: Int) -> Refusal? {
        if count >= limits.totalQueued { return .total }
        guard let lane = lanes[client] else { return nil }
        if lane.outstanding >= limits.callsPerClient { return .clientCalls }
        if !lane.calls.isEmpty, lane.bytes + bytes > limits.queuedBytesPerClient { return .clientBytes }
        return nil
    }

    /// Queues a new call at the back of its client's FIFO (check `refusal` first).
    mutating func append(_ element: Element) {
        let key = element.client
        let wasIdle = lanes[key]?.calls.isEmpty ?? true
        lanes[key, default: Lane()].outstanding += 1
        enqueue(element, key: key, wasIdle: wasIdle) { $0.append($1) }
    }

    /// Puts an already counted call back at the front (a dead worker's call
    /// goes first again), its client first in the round.
    mutating func pushFront(_ element: Element) {
        let key = element.client
        let wasIdle = lanes[key]?.calls.isEmpty ?? true
        if lanes[key] == nil { lanes[key] = Lane(outstanding: 1) }
        enqueue(element, key: key, wasIdle: wasIdle, front: true) { $0.pushFront($1) }
    }

    private mutating func enqueue(
        _ element: Element, key: [UInt8], wasIdle: Bool, front: Bool = false,
        _ insert: (inout CallQueue<Element>, Element) -> Void
    ) {
        lanes[key]!.bytes += element.queuedBytes
        insert(&lanes[key]!.calls, element)
        count += 1
        guard wasIdle else { return }
        if !front {
            ring.append(key)
        } else if head > 0 {
            head -= 1
            ring[head] = key
        } else {
            ring.insert(key, at: 0)
        }
    }

    /// The next call in round-robin order; it stays outstanding until `finished`.
    mutating func popFirst() -> Element? {
        guard head < ring.count else { return nil }
        let key = ring[head]
        head += 1
        guard let lane = lanes.index(forKey: key), let element = lanes.values[lane].calls.popFirst() else { return nil }
        lanes.values[lane].bytes -= element.queuedBytes
        count -= 1
        if !lanes.values[lane].calls.isEmpty { ring.append(key) }
        if head > 1024, head * 2 > ring.count {
            ring.removeFirst(head)
            head = 0
        }
        return element
    }

    /// A popped call of `client` ended (answered, failed or dropped).
    mutating func finished(_ client: [UInt8]) {
        guard let lane = lanes.index(forKey: client) else { return }
        lanes.values[lane].outstanding -= 1
        if lanes.values[lane].outstanding <= 0, lanes.values[lane].calls.isEmpty { lanes.remove(at: lane) }
    }

    /// Removes and returns the queued calls matching `predicate`, each
    /// counted as finished, keeping every client's order and the round.
    mutating func removeAll(where predicate: (Element) -> Bool) -> [Element] {
        var removed: [Element] = []
        for key in ring[head...] {
            let gone = lanes[key]!.calls.removeAll(where: predicate)
            lanes[key]!.bytes -= gone.reduce(0) { $0 + $1.queuedBytes }
            for _ in gone { finished(key) }
            removed += gone
        }
        count -= removed.count
        ring = ring[head...].filter { !(lanes[$0]?.calls.isEmpty ?? true) }
        head = 0
        return removed
    }

    /// Every queued call, in each client's order.
    func forEach(_ body: (Element) -> Void) {
        for key in ring[head...] { lanes[key]?.calls.forEach(body) }
    }
}
