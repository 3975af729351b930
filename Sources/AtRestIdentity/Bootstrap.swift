import AtRestCrypto
import AtRestLocalState
import AtRestTokens

/// Creates the principals the service needs to be usable at all: the bootstrap
/// administrator and the configured service principals.
///
/// A principal whose secret is not in the config gets a random one, written
/// once to `<dataDirectory>/credentials/<name>.secret` (mode 0600, one line).
/// Operators read the admin secret from there, log in, and may delete the
/// file; the service never reads it back except to reuse it when the state
/// was lost but the file survived.
enum Bootstrap {
    static func ensurePrincipals(in state: inout IdentityState, config: IdentityConfiguration, now: Int64) throws {
        try ensure(name: config.adminName, secret: config.adminSecret, role: .identityAdministrator,
                   kind: .user, in: &state, config: config, now: now)
        for spec in config.servicePrincipals {
            try ensure(name: spec.name, secret: spec.secret, role: .service, kind: .service,
                       in: &state, config: config, now: now)
        }
    }

    private static func ensure(name: String, secret: String?, role: Role, kind: PrincipalKind,
                               in state: inout IdentityState, config: IdentityConfiguration, now: Int64) throws {
        let tenant = IdentityState.systemTenant
        guard Names.isValid(name) else { throw IdentityError("bootstrap principal name '\(name)' is not valid: use \(Names.rule)") }
        if state.principals.values.contains(where: { $0.tenant == tenant && $0.name == name }) { return }
        let secret = try secret ?? credentialFileSecret(name: name, config: config)
        let hash = try PasswordHash(hashing: Array(secret.utf8), iterations: config.passwordIterations)
        let record = PrincipalRecord(id: try IdentityDirectory.newID(kind), kind: kind, tenant: tenant, name: name,
                                     secretHash: hash.encoded, roles: [role], accountID: nil, createdAt: now)
        state.principals[record.id] = record
    }

    /// The path of a generated credential file.
    static func credentialPath(name: String, config: IdentityConfiguration) -> String {
        "\(config.credentialsDirectory)/\(name).secret"
    }

    private static func credentialFileSecret(name: String, config: IdentityConfiguration) throws -> String {
        let path = credentialPath(name: name, config: config)
        try LocalFile.makeDirectory(config.credentialsDirectory)
        if let existing = try LocalFile.read(path) {
            let text = String(decoding: existing, as: UTF8.self).trimmingNewlines
            guard !text.isEmpty else { throw IdentityError("credential file '\(path)' is empty; delete it to generate a new secret") }
            return text
        }
        let secret = try generateSecret()
        guard try LocalFile.createExclusive(Array((secret + "\n").utf8), at: path) else {
            throw IdentityError("credential file '\(path)' appeared while creating it; restart the service")
        }
        return secret
    }

    /// 32 random bytes as unpadded base64url (43 characters).
    static func generateSecret() throws -> String { Base64URL.encode(try SecureRandom.bytes(32)) }
}

extension String {
    var trimmingNewlines: String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" || last == " " { text = text.dropLast() }
        return String(text)
    }
}
