import Foundation

/// The CLI's saved settings for one profile (one cluster and login):
/// endpoint, CURVE server key and client key-pair file, and the token of the
/// last `atrest login`. Profiles live in one file, `$ATREST_CONFIG` or
/// `~/.config/atrest/config.json`, written 0600 because it holds bearer
/// tokens (docs/CLI.md "Configuration and profiles").
struct CLIConfig: Codable {
    var endpoint: String?
    var token: String?
    var tenant: String?
    var principal: String?
    var expiresAt: Int64?
    /// CURVE: the server's public key and this client's key-pair file.
    var curveServerKey: String?
    var curveKeyFile: String?

    /// The profile this configuration was loaded from (not stored inside it).
    var profile = CLIConfigFile.defaultProfile

    enum CodingKeys: String, CodingKey { case endpoint, token, tenant, principal, expiresAt, curveServerKey, curveKeyFile }

    static var path: String {
        if let explicit = ProcessInfo.processInfo.environment["ATREST_CONFIG"], !explicit.isEmpty { return explicit }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return "\(home)/.config/atrest/config.json"
    }

    /// The selected profile: `profile` (--profile), else `$ATREST_PROFILE`,
    /// else the file's current one, else "default". Empty when there is no file.
    static func load(profile: String? = nil) throws -> CLIConfig {
        let file = try CLIConfigFile.load()
        let name = file.selected(profile)
        var config = file.profiles[name] ?? CLIConfig()
        config.profile = name
        return config
    }

    /// Writes this profile into the file (other profiles kept); with
    /// `makeCurrent` it becomes the one later commands use.
    func save(makeCurrent: Bool = false) throws {
        var file = try CLIConfigFile.load()
        file.profiles[profile] = self
        if makeCurrent || file.current == nil { file.current = profile }
        try file.save()
    }
}

/// The configuration file: `{"current": NAME, "profiles": {NAME: {...}}}`.
/// A file of the earlier flat form (one configuration) reads as the profile
/// "default" and is rewritten in this form at the next save.
struct CLIConfigFile: Codable {
    static let defaultProfile = "default"

    var current: String?
    var profiles: [String: CLIConfig] = [:]

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let profiles = try container.decodeIfPresent([String: CLIConfig].self, forKey: .profiles) {
            self.profiles = profiles
            current = try container.decodeIfPresent(String.self, forKey: .current)
        } else {
            profiles = [Self.defaultProfile: try CLIConfig(from: decoder)]
            current = Self.defaultProfile
        }
    }

    func selected(_ explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = ProcessInfo.processInfo.environment["ATREST_PROFILE"], !env.isEmpty { return env }
        return current ?? Self.defaultProfile
    }

    static func load() throws -> CLIConfigFile {
        let path = CLIConfig.path
        guard let data = FileManager.default.contents(atPath: path) else { return CLIConfigFile() }
        do {
            return try JSONDecoder().decode(CLIConfigFile.self, from: data)
        } catch {
            throw CLIFailure(message: "config file '\(path)' is not valid JSON: \(error.localizedDescription); fix or delete it")
        }
    }

    func save() throws {
        let path = CLIConfig.path
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        // Write to a 0600 temp file and rename, so the token is never world-readable, even briefly.
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CLIFailure(message: "cannot write config file '\(temp)'")
        }
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw CLIFailure(message: "cannot replace config file '\(path)' (errno \(errno))")
        }
    }
}
