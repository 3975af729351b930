/// A key id as the vault answers it: `t<12 hex>.<name>`, the owning tenant's
/// tag (a keyed hash of the tenant id, see `KeyNamespace` in AtRestKeyVault)
/// and the name the tenant gave the key. Parsing needs no key, so clients
/// show the name without the tag.
public enum QualifiedKeyID {
    /// "t" + 12 lowercase hex characters.
    public static let tagLength = 13

    /// The tag and the name of a qualified id; nil for a plain name.
    public static func split(_ id: String) -> (tag: Substring, name: Substring)? {
        let bytes = id.utf8
        guard bytes.count > tagLength + 1, bytes.first == UInt8(ascii: "t") else { return nil }
        let dot = id.index(id.startIndex, offsetBy: tagLength)
        guard id[dot] == ".", id[id.index(after: id.startIndex)..<dot].utf8.allSatisfy(isLowerHex) else { return nil }
        return (id[..<dot], id[id.index(after: dot)...])
    }

    /// The user's name of a key id (the id itself when it is not qualified).
    public static func name(of id: String) -> String { split(id).map { String($0.name) } ?? id }

    private static func isLowerHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
}

extension KeyRef {
    /// The reference with its key id as the owning tenant names the key
    /// (the tenant tag dropped); for messages and for comparing with a name.
    public var named: KeyRef {
        var ref = self
        ref.keyID = QualifiedKeyID.name(of: keyID)
        return ref
    }
}
