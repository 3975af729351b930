/// One RPC of the contract: its full name ("atrest.v1.KeyVault/CreateKey")
/// with its request and response types. The server registers its handler
/// under it (`RPCRouter.register(_:)`) and the typed client calls through it
/// (`ServiceClient.call(_:_:)`), so a method's name is written once and a
/// handler or call with the wrong message types does not compile. Each
/// service's descriptors are the static members of one enum (`KeyVaultMethod`,
/// `IdentityMethod`, `AccountMethod`, `BlobMethod`, `StatusMethod`,
/// `EchoMethod`), matching the `service` blocks of proto/atrest/v1
/// (WireContractTests checks them against the generated descriptors).
public struct RPCMethod<Request: WireMessage, Response: WireMessage>: Sendable, Hashable, CustomStringConvertible {
    /// The proto service ("atrest.v1.KeyVault").
    public let service: String
    /// The rpc's name in the service block ("CreateKey").
    public let verb: String
    /// What the request header carries: "<service>/<verb>" (built once, not per call).
    public let name: String

    public init(_ service: String, _ verb: String) {
        self.service = service
        self.verb = verb
        name = service + "/" + verb
    }

    public var description: String { name }
    /// The descriptor without its types, for tables and checks.
    public var info: RPCMethodInfo { RPCMethodInfo(name: name, request: Request.protoName, response: Response.protoName) }
}

/// An `RPCMethod` as data: full name and the proto names of its messages.
public struct RPCMethodInfo: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var request: String
    public var response: String
    public init(name: String, request: String, response: String) {
        self.name = name
        self.request = request
        self.response = response
    }
    public var description: String { "\(name)(\(request)) -> \(response)" }
}
