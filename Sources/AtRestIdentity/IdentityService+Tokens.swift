import AtRestCrypto
import AtRestLoginGate
import AtRestTokens
import AtRestWire

extension IdentityService {
    /// Login, Keys, WhoAmI, RotateSigningKey.
    func registerTokenMethods(_ router: inout RPCRouter) {
        router.register(IdentityMethod.login) { (request: IdentityLoginRequest, context) async throws -> IdentityToken in
            try await self.login(request, lane: LoginGate.lane(context.header))
        }
        router.register(IdentityMethod.keys) { (_: EmptyMessage, _) async throws -> IdentityKeySet in
            await self.directory.keySet()
        }
        router.register(IdentityMethod.whoAmI) { (_: EmptyMessage, context) async throws -> IdentityWhoAmI in
            let claims = try await self.authorize(context, anyOf: [])
            return IdentityWhoAmI(principalID: claims.subject, tenant: claims.tenant, roles: claims.roles, kind: claims.kind,
                                  name: claims.name, issuer: claims.issuer, audience: claims.audience,
                                  expiresAtUnix: claims.expiresAt, tokenID: claims.tokenID, accountID: claims.accountID ?? "")
        }
        router.register(IdentityMethod.rotateSigningKey) { (_: EmptyMessage, context) async throws -> IdentityRotation in
            try await self.authorizeSystemAdministrator(context)
            let rotation = try await self.directory.rotate()
            try self.verifier.replaceKeys(await self.directory.keySet().keys)
            return rotation
        }
    }

    /// Client-credential login: throttle, constant-time secret check, token.
    ///
    /// Unknown principal and wrong secret get the same answer (and cost the
    /// same PBKDF2 work), so a caller cannot probe which names exist. The
    /// hash runs through `gate` (bounded, off the cooperative pool); a
    /// service principal's secret verified before skips it (`serviceSecrets`).
    func login(_ request: IdentityLoginRequest, lane: LoginGate.Lane = .direct) async throws -> IdentityToken {
        let tenant = request.tenant.isEmpty ? IdentityState.systemTenant : request.tenant
        guard !request.clientID.isEmpty else {
            throw RPCStatus(.invalidArgument, "login needs client_id (a principal name or id) and secret")
        }
        let throttleKey = "\(tenant)/\(request.clientID.prefix(Names.maxLength))"
        try throttle.checkAllowed(throttleKey)
        let candidate = await directory.loginCandidate(tenant: tenant, clientID: request.clientID)
        let storedHash = candidate?.secretHash.flatMap { try? PasswordHash(encoded: $0) }
        let secret = Array(request.secret.utf8)
        var matches = false
        if let candidate, candidate.kind == .service, let encoded = candidate.secretHash, storedHash != nil {
            matches = serviceSecrets.matches(candidate.id, storedHash: encoded, secret: secret)
        }
        if !matches {
            let hash = storedHash ?? decoyHash
            matches = try await gate.run(lane) { hash.verify(secret) }
            if matches, let candidate, candidate.kind == .service, let encoded = candidate.secretHash {
                serviceSecrets.remember(candidate.id, storedHash: encoded, secret: secret)
            }
        }
        guard let principal = candidate, storedHash != nil, matches else {
            let delay = throttle.recordFailure(throttleKey)
            let slowdown = delay > 0 ? "; further attempts are refused for \(delay) s" : ""
            throw RPCStatus(.unauthenticated,
                            "login failed for '\(request.clientID.prefix(128))' in tenant '\(tenant.prefix(128))': unknown principal or wrong secret\(slowdown)",
                            retryAfterMs: UInt32(clamping: delay * 1000))
        }
        throttle.recordSuccess(throttleKey)
        return try await directory.issuer().issue(for: principal, now: config.now())
    }
}
