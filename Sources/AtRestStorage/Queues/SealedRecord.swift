import AtRestCrypto

/// A record of a record map sealed under the account key (docs/FORMAT.md
/// "Queues"): each seal derives its own key, HKDF-SHA256(AEK, salt = 16
/// random bytes, info = "atrest/v1" ‖ 0x00 ‖ context), so every key
/// encrypts exactly one plaintext and the GCM nonce can be fixed (zero).
/// AAD = "atrest/v1/record" ‖ the map's name ‖ the record's key: a value
/// moved to another key, map or account fails to open.
///
/// ```
/// u8 format (1) ‖ u32 account key version ‖ 16 key check value ‖ 16 salt ‖ ciphertext ‖ 16 tag
/// ```
///
/// With the infrastructure layer (an account with infrastructure encryption),
/// format 2 seals twice, inner under HKDF(AEK_infra, salt, "atrest/v1/infra" ‖
/// 0x00 ‖ context), outer under the key above, same nonce and AAD:
///
/// ```
/// u8 format (2) ‖ u32 account key version ‖ 16 key check value ‖ 16 salt
///   ‖ u32 infrastructure key version ‖ 16 infrastructure key check value ‖ ciphertext ‖ 16 inner tag ‖ 16 outer tag
/// ```
enum SealedRecord {
    static let format: UInt8 = 1
    static let doubleFormat: UInt8 = 2
    static let saltSize = 16
    static let overhead = 1 + 4 + AccountKey.checkValueSize + saltSize + AESGCM.tagSize
    /// Format 2's overhead (the largest).
    static let maxOverhead = overhead + ObjectHeader.InfrastructureLayer.size + AESGCM.tagSize
    private static let nonce = [UInt8](repeating: 0, count: AESGCM.nonceSize)

    static func seal(_ plaintext: [UInt8], context: [UInt8], map: RecordMapName, key recordKey: String, accountKey: AccountKey) throws -> [UInt8] {
        let salt = try SecureRandom.bytes(saltSize)
        let sealKey = try accountKey.objectKey(salt: salt, context: context)
        let aad = aad(map, recordKey)
        var w = ByteWriter(capacity: maxOverhead)
        w.u8(accountKey.infrastructure == nil ? format : doubleFormat)
        w.u32(accountKey.reference.accountKeyVersion)
        w.raw(accountKey.checkValue)
        w.raw(salt)
        var inner = plaintext
        if let infrastructure = accountKey.infrastructure {
            w.u32(infrastructure.accountKeyVersion)
            w.raw(infrastructure.checkValue)
            inner = try AESGCM.seal(plaintext, using: try infrastructure.objectKey(salt: salt, context: context), nonce: nonce, authenticating: aad)
        }
        // Sealed straight into the record after its header: no zeroed
        // ciphertext array copied in afterwards (a disk's or file's chunk
        // records are most of what a worker seals).
        let header = w.bytes
        return try [UInt8](unsafeUninitializedCapacity: header.count + inner.count + AESGCM.tagSize) { buffer, initialized in
            let record = UnsafeMutableRawBufferPointer(buffer)
            let bodyEnd = header.count + inner.count
            record.copyBytes(from: header)
            let tag = try inner.withUnsafeBytes { plain in
                try AESGCM.seal(plain, into: UnsafeMutableRawBufferPointer(rebasing: record[header.count..<bodyEnd]),
                                using: sealKey, nonce: nonce, authenticating: aad)
            }
            UnsafeMutableRawBufferPointer(rebasing: record[bodyEnd...]).copyBytes(from: tag)
            initialized = record.count
        }
    }

    /// The plaintext; `.wrongKey` for a record of another account key
    /// (version), `.integrityFailure` for anything changed or moved.
    static func open(_ sealed: [UInt8], context: [UInt8], map: RecordMapName, key recordKey: String, accountKey accountKeys: AccountKey) throws -> [UInt8] {
        let header = try Header(sealed, accountKeys, "record of \(map)")
        let body = sealed[header.size...]
        let aad = aad(map, recordKey)
        do {
            let inner = try AESGCM.open(body, using: try header.accountKey.objectKey(salt: header.salt, context: context), nonce: nonce, authenticating: aad)
            guard let infrastructureKey = header.infrastructureKey else { return inner }
            return try AESGCM.open(inner, using: try infrastructureKey.objectKey(salt: header.salt, context: context), nonce: nonce, authenticating: aad)
        } catch is CryptoError {
            throw StorageError.integrity("record \(recordKey) of \(map) does not authenticate (changed, damaged or moved)")
        }
    }

    /// The first `count` bytes (or fewer, if the plaintext is shorter) of
    /// the plaintext of `sealed`, WITHOUT checking its tags
    /// (`AESGCM.unauthenticatedPrefix`): for a caller that checks them by
    /// other means (the table engine's RowKeys, docs/FORMAT.md "Tables",
    /// "Learning RowKeys"). `.wrongKey` as `open`; nothing else is checked.
    static func unauthenticatedPrefix(_ sealed: ArraySlice<UInt8>, count: Int, context: [UInt8], accountKey accountKeys: AccountKey) throws -> [UInt8] {
        let header = try Header(Array(sealed.prefix(maxOverhead)), accountKeys, "record")
        // After the header: ciphertext ‖ tag (‖ outer tag). A tag is never decrypted as if it were plaintext.
        let plainSize = sealed.count - header.size - (header.infrastructureKey == nil ? 1 : 2) * AESGCM.tagSize
        guard plainSize >= 0 else { throw StorageError.integrity("record is shorter than its header and tags") }
        let body = Array(sealed.dropFirst(header.size).prefix(min(count, plainSize)))
        func decrypt(_ input: [UInt8], _ key: SecretBytes) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: input.count)
            try input.withUnsafeBytes { i in
                try out.withUnsafeMutableBytes { try AESGCM.unauthenticatedPrefix(of: i, into: $0, using: key, nonce: nonce) }
            }
            return out
        }
        let inner = try decrypt(body, try header.accountKey.objectKey(salt: header.salt, context: context))
        guard let infrastructureKey = header.infrastructureKey else { return inner }
        return try decrypt(inner, try infrastructureKey.objectKey(salt: header.salt, context: context))
    }

    /// A sealed record's header, checked against the keys in use.
    private struct Header {
        var accountKey: AccountKey
        var infrastructureKey: InfrastructureKey?
        var salt: [UInt8]
        /// Bytes before the ciphertext.
        var size: Int

        /// From `sealed` (the record, or at least its first `maxOverhead` bytes); `what` names it in errors.
        init(_ sealed: [UInt8], _ accountKeys: AccountKey, _ what: String) throws {
            var r = ByteReader(sealed)
            let recordFormat = try r.u8()
            guard recordFormat == SealedRecord.format || recordFormat == SealedRecord.doubleFormat else {
                throw StorageError(.unsupportedFormat, "\(what) is not in a format this build reads")
            }
            let version = try r.u32()
            let check = Array(try r.take(AccountKey.checkValueSize))
            guard let accountKey = try? accountKeys.opening(version: version), check == accountKey.checkValue else {
                throw StorageError(.wrongKey, "\(what) was sealed under account key version \(version), not the key in use")
            }
            self.accountKey = accountKey
            salt = Array(try r.take(SealedRecord.saltSize))
            if recordFormat == SealedRecord.doubleFormat {
                let infrastructureVersion = try r.u32()
                let infrastructureCheck = Array(try r.take(AccountKey.checkValueSize))
                guard let infrastructure = accountKey.infrastructure, infrastructure.accountKeyVersion == infrastructureVersion,
                      infrastructure.checkValue == infrastructureCheck else {
                    throw StorageError(.wrongKey, "\(what) was sealed with the infrastructure layer under infrastructure key version \(infrastructureVersion), not a key in use")
                }
                infrastructureKey = infrastructure
            }
            size = (recordFormat == SealedRecord.doubleFormat ? SealedRecord.maxOverhead - AESGCM.tagSize : SealedRecord.overhead) - AESGCM.tagSize
        }
    }

    private static func aad(_ map: RecordMapName, _ key: String) -> [UInt8] {
        var w = ByteWriter()
        w.raw("atrest/v1/record".utf8)
        for part in [map.container.id, map.map, key] { let u = Array(part.utf8); w.u32(UInt32(u.count)); w.raw(u) }
        return w.bytes
    }

    /// The identity context of a seal: for each part, u32 length ‖ UTF-8.
    static func context(_ parts: [String]) -> [UInt8] {
        var w = ByteWriter()
        for part in parts { let u = Array(part.utf8); w.u32(UInt32(u.count)); w.raw(u) }
        return w.bytes
    }
}
