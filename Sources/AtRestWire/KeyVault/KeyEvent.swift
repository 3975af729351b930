/// A change that caches elsewhere must hear about at once (a disabled key
/// must stop unwrapping everywhere). Published on the vault's PUB socket with
/// `kind` as the topic; subscribers also re-check on a timer, since PUB/SUB can
/// lose messages.
public struct KeyEvent: Sendable, Equatable, WireMessage {
    public enum Kind: String, Sendable, CaseIterable {
        case created, rotated, enabled, disabled, deleted, recovered, purged
        case accessGranted = "access_granted"
        case accessRevoked = "access_revoked"
    }

    public static let protoName = "atrest.v1.KeyEvent"
    public var kind: Kind
    /// The key; version is the current version after the change.
    public var key: KeyRef
    /// For access events: whose access changed.
    public var principalID: String
    public var time: Int64
    /// Who made the change.
    public var actorID: String

    public init(kind: Kind, key: KeyRef, principalID: String = "", time: Int64, actorID: String) {
        self.kind = kind
        self.key = key
        self.principalID = principalID
        self.time = time
        self.actorID = actorID
    }

    public init(wire: WireFields) throws {
        guard let kind = Kind(rawValue: wire.string(1)) else {
            throw VaultError(.invalidArgument, "unknown key event kind '\(wire.string(1))'")
        }
        self.init(kind: kind, key: try wire.message(2) ?? KeyRef(provider: "", keyID: ""), principalID: wire.string(3),
                  time: wire.int64(4), actorID: wire.string(5))
    }

    public var wire: WireFields {
        [1: .string(kind.rawValue), 2: WireValue(key), 3: .string(principalID), 4: .int(time), 5: .string(actorID)]
    }
}
