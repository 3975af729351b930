/// Where each service listens when no flag says otherwise, defined once: the
/// executables' flag defaults, the libraries' configuration defaults and the
/// CLI use these (docs/OPERATIONS.md "Network": the ports).
public enum DefaultEndpoints {
    /// The front door's public (client) endpoint.
    public static let frontDoor = "tcp://127.0.0.1:7400"
    /// The front door's endpoint for crypto workers.
    public static let frontDoorWorkers = "tcp://127.0.0.1:7401"
    /// The key vault's RPC endpoint.
    public static let vault = "tcp://127.0.0.1:7410"
    /// The key vault's key-event PUB endpoint.
    public static let vaultEvents = "tcp://127.0.0.1:7411"
    /// The identity service.
    public static let identity = "tcp://127.0.0.1:7420"
}
