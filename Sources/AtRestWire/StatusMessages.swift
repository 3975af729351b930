/// `service Status` (status.proto): what an operator sees of one service.
public enum StatusMethod {
    public static let service = "atrest.v1.Status"
    public static let get = RPCMethod<StatusRequest, StatusReply>(service, "Get")

    public static let all: [RPCMethodInfo] = [get.info]
}

/// One counter or gauge of a status reply: `name` fixed, `label` qualifies it.
public struct StatusFigure: Sendable, Equatable {
    public var name: String
    public var label: String
    public var value: UInt64

    public init(_ name: String, label: String = "", _ value: UInt64) {
        self.name = name
        self.label = label
        self.value = value
    }
}

extension StatusFigure: WireMessage {
    public static let protoName = "atrest.v1.StatusFigure"
    public init(wire: WireFields) throws { self.init(wire.string(1), label: wire.string(2), wire.uint64(3)) }
    public var wire: WireFields { [1: .string(name), 2: .string(label), 3: .uint(value)] }
}

/// A crypto worker as the front door sees it.
public struct StatusWorker: Sendable, Equatable {
    public var name: String
    public var credit: UInt32
    public var inFlight: UInt32

    public init(name: String, credit: UInt32, inFlight: UInt32) {
        self.name = name
        self.credit = credit
        self.inFlight = inFlight
    }
}

extension StatusWorker: WireMessage {
    public static let protoName = "atrest.v1.StatusWorker"
    public init(wire: WireFields) throws { self.init(name: wire.string(1), credit: wire.uint32(2), inFlight: wire.uint32(3)) }
    public var wire: WireFields { [1: .string(name), 2: .uint(UInt64(credit)), 3: .uint(UInt64(inFlight))] }
}

/// The reply of `atrest.v1.Status/Get`.
public struct StatusReply: Sendable, Equatable {
    public var service: String
    public var version: String
    public var instance: String
    public var uptimeMs: UInt64
    public var rssKiB: UInt64
    public var peakRssKiB: UInt64
    public var figures: [StatusFigure]
    public var workers: [StatusWorker]

    public init(service: String, version: String, instance: String, uptimeMs: UInt64, rssKiB: UInt64 = 0,
                peakRssKiB: UInt64 = 0, figures: [StatusFigure] = [], workers: [StatusWorker] = []) {
        self.service = service
        self.version = version
        self.instance = instance
        self.uptimeMs = uptimeMs
        self.rssKiB = rssKiB
        self.peakRssKiB = peakRssKiB
        self.figures = figures
        self.workers = workers
    }

    /// The value of figure `name` (with `label`), 0 when absent.
    public func figure(_ name: String, label: String = "") -> UInt64 {
        figures.first { $0.name == name && $0.label == label }?.value ?? 0
    }

    /// The sum of every figure named `name`, whatever its label.
    public func total(_ name: String) -> UInt64 {
        figures.filter { $0.name == name }.reduce(0) { $0 + $1.value }
    }
}

extension StatusReply: WireMessage {
    public static let protoName = "atrest.v1.StatusReply"

    public init(wire: WireFields) throws {
        self.init(service: wire.string(1), version: wire.string(2), instance: wire.string(3), uptimeMs: wire.uint64(4),
                  rssKiB: wire.uint64(5), peakRssKiB: wire.uint64(6), figures: try wire.messages(7), workers: try wire.messages(8))
    }

    public var wire: WireFields {
        [1: .string(service), 2: .string(version), 3: .string(instance), 4: .uint(uptimeMs), 5: .uint(rssKiB),
         6: .uint(peakRssKiB), 7: .messages(figures), 8: .messages(workers)]
    }
}

/// The (empty) request of `atrest.v1.Status/Get`.
public struct StatusRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.StatusRequest"
    public init() {}
    public init(wire: WireFields) throws {}
    public var wire: WireFields { [:] }
}
