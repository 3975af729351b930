import Foundation

extension LocalCluster {
    /// Starts another front door serving the same cluster: its own data
    /// directory (`root/frontdoor-<n>`) holding a copy of the first front
    /// door's root key, and the first one's registry store
    /// (`--registry-store root/frontdoor/registry-store`), as several front
    /// doors share one registry backend (docs/OPERATIONS.md "Several front doors").
    @discardableResult
    public func addFrontDoor() throws -> ServiceProcess {
        let dataDirectory = "\(root)/frontdoor-\(extraFrontDoors.count + 2)"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let key = try Data(contentsOf: URL(fileURLWithPath: "\(root)/frontdoor/registry.key"))
        guard FileManager.default.createFile(atPath: "\(dataDirectory)/registry.key", contents: key, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        let arguments = Self.frontDoorArguments(root: root, host: options.frontDoorWorkersHost ?? options.serviceHost, identity: identity.endpoint,
                                                vault: vaultEndpoint, events: vaultEvents, dataDirectory: dataDirectory,
                                                clientHost: options.frontDoorHost)
            + (options.storage == .local ? ["--registry-store", "\(root)/frontdoor/registry-store"] : Self.frontDoorStorageArguments(options.storage))
        let frontDoor = try Self.launch(options, curve, .frontDoor, "atrest-frontdoor", arguments)
        extraFrontDoors.append(frontDoor)
        return frontDoor
    }
}

extension LocalCluster {
    /// SIGKILLs extra front door `index` (from `addFrontDoor`) and starts it
    /// again on the same data directory and the same client and worker
    /// endpoints (its workers reconnect), as a crashed front door restarted.
    @discardableResult
    public func restartExtraFrontDoor(_ index: Int) throws -> ServiceProcess {
        let old = extraFrontDoors[index]
        let client = old.endpoint, workers = old.fields["workers"] ?? ""
        old.kill()
        var arguments = Self.frontDoorArguments(root: root, host: options.frontDoorWorkersHost ?? options.serviceHost, identity: identity.endpoint,
                                                vault: vaultEndpoint, events: vaultEvents, dataDirectory: "\(root)/frontdoor-\(index + 2)",
                                                clientHost: options.frontDoorHost)
            + (options.storage == .local ? ["--registry-store", "\(root)/frontdoor/registry-store"] : Self.frontDoorStorageArguments(options.storage))
        for (flag, value) in [("--endpoint", client), ("--workers", workers)] {
            if let at = arguments.firstIndex(of: flag) { arguments[at + 1] = value }
        }
        let frontDoor = try Self.launch(options, curve, .frontDoor, "atrest-frontdoor", arguments)
        extraFrontDoors[index] = frontDoor
        return frontDoor
    }
}
