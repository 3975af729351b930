import AtRestCrypto

/// Customer-provided keys in format v1 (docs/FORMAT.md "Customer-provided
/// keys"). An object written with one has flag bit 1 (`.customerKey`) and,
/// after the nonce prefix, a keyed hash of the key; its segments are sealed
/// under a content key derived from both the customer's key and the object
/// key, its metadata block under the object key as always (listing needs no
/// customer key). The customer's key itself is never stored.
enum CustomerKeyCheck {
    static let size = 32
    static let keySize = 32
    static let checkLabel = Array("atrest/v1/cpk-check".utf8)
    static let contentLabel = Array("atrest/v1/cpk".utf8)

    /// HMAC-SHA256(HKDF-SHA256(AEK, info "atrest/v1/cpk-check"), CPK): verifies
    /// a later request's key without storing it; brute-forcing it needs the AEK.
    static func value(of customerKey: SecretBytes, accountKey: AccountKey) throws -> [UInt8] {
        let checkKey = try HKDF.deriveKey(from: accountKey.key, salt: [UInt8](), info: checkLabel, outputCount: 32)
        return try customerKey.withUnsafeBytes { try HMACSHA256.authenticate($0, using: checkKey) }
    }

    /// The content key: HKDF-SHA256(IKM = CPK, salt = object key,
    /// info = "atrest/v1/cpk" ‖ 0x00 ‖ identity context). Neither the account
    /// key alone nor the customer's key alone gives it.
    static func contentKey(customerKey: SecretBytes, objectKey: SecretBytes, context: [UInt8]) throws -> SecretBytes {
        try objectKey.withUnsafeBytes { salt in
            try HKDF.deriveKey(from: customerKey, salt: salt, info: contentLabel + [0] + context, outputCount: 32)
        }
    }

    /// How a request's key relates to an object's header.
    enum Match: Sendable, Equatable {
        /// Neither has one.
        case none
        /// Both, and the key is the one the object was written with.
        case matches
        /// The object has one, the request none.
        case missing
        /// Both, another key.
        case mismatch
        /// The request sent one for an object written without.
        case unexpected
    }

    static func match(_ header: ObjectHeader, _ accountKey: AccountKey) throws -> Match {
        switch (header.flags.contains(.customerKey), accountKey.customerKey) {
        case (false, nil): return .none
        case (false, _?): return .unexpected
        case (true, nil): return .missing
        case (true, let key?):
            let expected = try value(of: key, accountKey: accountKey)
            return ConstantTime.equals(expected, header.customerKeyCheck ?? []) ? .matches : .mismatch
        }
    }

    /// The store's check before it returns an object's data or metadata.
    static func require(_ match: Match) throws {
        switch match {
        case .none, .matches: return
        case .missing: throw StorageError(.customerKeyRequired, "this blob is encrypted with a customer-provided key; send the key")
        case .mismatch: throw StorageError(.customerKeyMismatch, "the customer-provided key does not match this blob")
        case .unexpected:
            throw StorageError(.invalidArgument, "a customer-provided key was sent for a blob that was not written with one; send none")
        }
    }
}

extension AccountKey {
    /// This key carrying a request's customer-provided key (32 bytes): what
    /// it writes is sealed with it, what it reads must have been.
    public func withCustomerKey(_ customerKey: SecretBytes) throws -> AccountKey {
        guard customerKey.count == CustomerKeyCheck.keySize else {
            throw StorageError(.invalidArgument, "a customer-provided key must be \(CustomerKeyCheck.keySize) bytes (AES-256), got \(customerKey.count)")
        }
        var key = self
        key.customerKey = customerKey
        return key
    }
}
