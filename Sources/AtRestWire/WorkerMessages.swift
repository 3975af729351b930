/// Worker → broker: a worker announces itself and how much work it takes.
public struct WorkerReady: Sendable, Equatable {
    public var workerID: String
    /// Requests the worker is ready to take concurrently.
    public var credit: UInt32
    /// Methods the worker serves; empty means all data-plane methods.
    public var methods: [String]
    public var version: String

    public init(workerID: String, credit: UInt32, methods: [String] = [], version: String = "") {
        self.workerID = workerID
        self.credit = credit
        self.methods = methods
        self.version = version
    }
}

extension WorkerReady: WireMessage {
    public static let protoName = "atrest.v1.WorkerReady"

    public init(wire: WireFields) throws {
        self.init(workerID: wire.string(1), credit: wire.uint32(2), methods: wire.strings(3), version: wire.string(4))
    }

    public var wire: WireFields {
        [1: .string(workerID), 2: .uint(credit), 3: .strings(methods), 4: .string(version)]
    }
}

/// Heartbeats carry the sender's current credit so it is never lost.
public struct Heartbeat: Sendable, Equatable {
    public var credit: UInt32
    public init(credit: UInt32) { self.credit = credit }
}

extension Heartbeat: WireMessage {
    public static let protoName = "atrest.v1.Heartbeat"
    public init(wire: WireFields) throws { self.init(credit: wire.uint32(1)) }
    public var wire: WireFields { [1: .uint(credit)] }
}

/// The published limits of an endpoint.
public struct Limits: Sendable, Equatable {
    public var maxMessageBytes: UInt64
    public var maxPayloadBytes: UInt64
    public var maxBlockBytes: UInt64

    public init(maxMessageBytes: UInt64, maxPayloadBytes: UInt64, maxBlockBytes: UInt64) {
        self.maxMessageBytes = maxMessageBytes
        self.maxPayloadBytes = maxPayloadBytes
        self.maxBlockBytes = maxBlockBytes
    }
}

extension Limits: WireMessage {
    public static let protoName = "atrest.v1.Limits"

    public init(wire: WireFields) throws {
        self.init(maxMessageBytes: wire.uint64(1), maxPayloadBytes: wire.uint64(2), maxBlockBytes: wire.uint64(3))
    }

    public var wire: WireFields {
        [1: .uint(maxMessageBytes), 2: .uint(maxPayloadBytes), 3: .uint(maxBlockBytes)]
    }
}

/// An empty body.
public struct EmptyMessage: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.Empty"
    public init() {}
    public init(wire: WireFields) throws {}
    public var wire: WireFields { [:] }
}
