import AtRestWire

/// Where key events go: a ZeroMQ PUB socket in the service, a collector in tests.
/// `publish` must not block (it runs on the request path).
public protocol KeyEventSink: Sendable {
    func publish(_ event: KeyEvent)
}

/// A sink from a closure.
public struct KeyEventHandler: KeyEventSink {
    let body: @Sendable (KeyEvent) -> Void
    public init(_ body: @escaping @Sendable (KeyEvent) -> Void) { self.body = body }
    public func publish(_ event: KeyEvent) { body(event) }
}

/// Drops events (a vault without subscribers).
public struct NoKeyEvents: KeyEventSink {
    public init() {}
    public func publish(_ event: KeyEvent) {}
}
