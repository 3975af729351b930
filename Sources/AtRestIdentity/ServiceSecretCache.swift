import AtRestCrypto
import Synchronization

/// Remembers, in memory only, that a service principal's secret was
/// verified, so its next logins (token renewals, restarts of a service)
/// skip PBKDF2 and stay fast while public logins wait for hashing slots.
///
/// Holds HMAC-SHA256(process key, secret) per principal together with the
/// stored hash it was checked against: a changed secret hash drops the
/// entry, and the key is random per process (never stored), so nothing
/// here outlives the process. Only service principals are cached: their
/// secrets are generated (256 random bits) and sit in credential files on
/// the services' hosts anyway; a user's password always costs PBKDF2.
final class ServiceSecretCache: Sendable {
    private struct Entry {
        var storedHash: String
        var mac: [UInt8]
    }

    private let key: SecretBytes
    private let entries = Mutex<[String: Entry]>([:])

    init() throws {
        key = try SecretBytes(randomCount: 32)
    }

    /// True when `secret` is the one last verified for `principal` under `storedHash`.
    func matches(_ principal: String, storedHash: String, secret: [UInt8]) -> Bool {
        guard let entry = entries.withLock({ $0[principal] }), entry.storedHash == storedHash,
              let mac = try? HMACSHA256.authenticate(secret, using: key) else { return false }
        return ConstantTime.equals(mac, entry.mac)
    }

    func remember(_ principal: String, storedHash: String, secret: [UInt8]) {
        guard let mac = try? HMACSHA256.authenticate(secret, using: key) else { return }
        entries.withLock { $0[principal] = Entry(storedHash: storedHash, mac: mac) }
    }
}
