/// What one client (one connection to the broker's ROUTER) may hold: the
/// operator-facing subset of `BrokerConfiguration` (docs/OPERATIONS.md
/// "Limits").
public struct ClientLimits: Sendable, Equatable {
    /// Calls waiting or running on workers at once; more get RESOURCE_EXHAUSTED.
    public var maxCalls: Int = 256
    /// Bytes (body + payload) of the calls waiting for a worker.
    public var maxQueuedBytes: Int = 64 << 20
    /// Reply bytes buffered for a client that does not read (ZMQ_SNDHWM:
    /// 128 MiB / 8 MiB = 16 messages, so pipelined small replies rarely
    /// meet the mark), plus a quarter of it waiting in the broker.
    public var sendBufferBytes: Int = 128 << 20
    /// Replies waiting this long without any taken are dropped.
    public var slowClientTimeout: Duration = .seconds(5)
    /// The longest a call may run: a larger `timeout_ms` is cut to this (so
    /// a call admitted under an account's previous key version has ended by
    /// then: the re-encryption job waits this out, docs/DATA-PATH.md).
    public var maxCallTime: Duration = .seconds(300)

    public init() {}
}

extension BrokerConfiguration {
    /// This configuration with `limits` for every client.
    public func applying(_ limits: ClientLimits) -> BrokerConfiguration {
        var copy = self
        copy.maxCallsPerClient = limits.maxCalls
        copy.maxQueuedBytesPerClient = limits.maxQueuedBytes
        copy.clientSendBufferBytes = limits.sendBufferBytes
        copy.slowClientTimeout = limits.slowClientTimeout
        copy.maxTimeout = limits.maxCallTime
        return copy
    }
}
