/// Where `atrest-recover` reads from (and, when extracting, writes to).
struct RecoverySources: Sendable {
    var vaultDirectory: String
    var vaultRootKeyFile: String
    var frontDoorRootKeyFile: String
    var registryDirectory: String
    var objectsDirectory: String
    var pluginDirectory: String?
    var extractDirectory: String?
}
