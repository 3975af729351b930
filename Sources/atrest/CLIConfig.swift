import Foundation

/// The CLI's saved settings: `$ATREST_CONFIG` or `~/.config/atrest/config.json`,
/// written 0600 because it holds a bearer token.
struct CLIConfig: Codable {
    var endpoint: String?
    var token: String?
    var tenant: String?
    var principal: String?
    var expiresAt: Int64?
    /// CURVE: the server's public key and this client's key-pair file.
    var curveServerKey: String?
    var curveKeyFile: String?

    static var path: String {
        if let explicit = ProcessInfo.processInfo.environment["ATREST_CONFIG"], !explicit.isEmpty { return explicit }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return "\(home)/.config/atrest/config.json"
    }

    static func load() throws -> CLIConfig {
        guard let data = FileManager.default.contents(atPath: path) else { return CLIConfig() }
        do {
            return try JSONDecoder().decode(CLIConfig.self, from: data)
        } catch {
            throw CLIFailure(message: "config file '\(path)' is not valid JSON: \(error.localizedDescription); fix or delete it")
        }
    }

    func save() throws {
        let url = URL(fileURLWithPath: Self.path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        // Write to a 0600 temp file and rename, so the token is never world-readable, even briefly.
        let temp = Self.path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CLIFailure(message: "cannot write config file '\(temp)'")
        }
        guard rename(temp, Self.path) == 0 else {
            unlink(temp)
            throw CLIFailure(message: "cannot replace config file '\(Self.path)' (errno \(errno))")
        }
    }
}
