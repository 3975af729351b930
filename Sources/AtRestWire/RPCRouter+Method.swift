/// Registration by method descriptor: the handler's request and reply types
/// are the descriptor's, checked by the compiler.
extension RPCRouter {
    public mutating func register<Request: WireMessage, Reply: WireMessage>(
        _ method: RPCMethod<Request, Reply>, handler: @escaping @Sendable (Request, RPCContext) async throws -> Reply
    ) {
        register(method.name, Request.self, handler: handler)
    }

    /// A reply with payload arrays.
    public mutating func register<Request: WireMessage, Reply: WireMessage>(
        _ method: RPCMethod<Request, Reply>, handler: @escaping @Sendable (Request, RPCContext) async throws -> (Reply, [[UInt8]])
    ) {
        register(method.name, Request.self, handler: handler)
    }

    /// A reply with payload parts.
    public mutating func register<Request: WireMessage, Reply: WireMessage>(
        _ method: RPCMethod<Request, Reply>, parts handler: @escaping @Sendable (Request, RPCContext) async throws -> (Reply, [PayloadPart])
    ) {
        register(method.name, Request.self, parts: handler)
    }
}
