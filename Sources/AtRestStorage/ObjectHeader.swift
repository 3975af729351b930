import AtRestCrypto

/// The clear, immutable part of an object header (format v1). Its SHA-256 is
/// the AAD of every data segment and it is the AAD of the metadata block, so
/// changing any of its bytes breaks both. See docs/FORMAT.md.
struct ObjectHeader: Sendable, Equatable {
    static let magic: [UInt8] = Array("ATRS".utf8)
    static let version: UInt16 = 1
    static let saltSize = 32
    static let noncePrefixSize = 7
    static let defaultSegmentSize = 64 * 1024
    static let maxSegmentSize = 16 * 1024 * 1024
    /// Bytes before the fixed header's variable part: magic, version, flags, length.
    static let preambleSize = 10

    struct Flags: OptionSet, Sendable, Equatable {
        let rawValue: UInt16
        /// The data stream is a block manifest (a committed block list), not content.
        static let manifest = Flags(rawValue: 1)
        /// The content is sealed under a key derived from a customer-provided
        /// key; `customerKeyCheck` follows the nonce prefix (CustomerKeyCheck).
        static let customerKey = Flags(rawValue: 2)
        /// Sealed twice: the infrastructure layer's fields follow the nonce
        /// prefix (bit 2), after the customer key check when both are present.
        static let infrastructure = Flags(rawValue: 4)
    }

    /// The infrastructure layer's header fields (flag bit 2): its key's
    /// account key version and check value.
    struct InfrastructureLayer: Sendable, Equatable {
        var accountKeyVersion: UInt32
        var checkValue: [UInt8]
        static let size = 4 + AccountKey.checkValueSize
    }

    var flags: Flags
    var keyReference: KeyReference
    var keyCheckValue: [UInt8]
    var salt: [UInt8]
    var segmentSize: Int
    var noncePrefix: [UInt8]
    /// With `.customerKey`: HMAC-SHA256 of the customer-provided key under a
    /// key derived from the account key (32 bytes); nil otherwise.
    var customerKeyCheck: [UInt8]? = nil
    /// Present exactly when `flags` has `.infrastructure`.
    var infrastructure: InfrastructureLayer? = nil

    /// Bytes each segment and the metadata block add to their plaintext: one GCM tag per layer.
    var sealOverhead: Int { Self.sealOverhead(flags) }

    static func sealOverhead(_ flags: Flags) -> Int {
        flags.contains(.infrastructure) ? 2 * AESGCM.tagSize : AESGCM.tagSize
    }

    /// The flags from a fixed header's preamble (at least `preambleSize` bytes, checked by `fixedLength`).
    static func flags(fromPreamble p: [UInt8]) -> Flags { Flags(rawValue: UInt16(p[6]) << 8 | UInt16(p[7])) }

    static func fresh(for key: AccountKey, flags: Flags, segmentSize: Int = defaultSegmentSize) throws -> ObjectHeader {
        // One DRBG call for both (each call has a fixed cost of about a microsecond).
        let random = try SecureRandom.bytes(saltSize + noncePrefixSize)
        // A request's customer-provided key seals the content of what it writes (never a block list's).
        let check = flags.contains(.manifest) ? nil : try key.customerKey.map { try CustomerKeyCheck.value(of: $0, accountKey: key) }
        var header = ObjectHeader(flags: check == nil ? flags : flags.union(.customerKey), keyReference: key.reference,
                                  keyCheckValue: key.checkValue, salt: Array(random[..<saltSize]), segmentSize: segmentSize,
                                  noncePrefix: Array(random[saltSize...]), customerKeyCheck: check)
        if let infrastructure = key.infrastructure {
            header.flags.insert(.infrastructure)
            header.infrastructure = InfrastructureLayer(accountKeyVersion: infrastructure.accountKeyVersion, checkValue: infrastructure.checkValue)
        }
        return header
    }

    func encode() throws -> [UInt8] {
        var body = ByteWriter()
        try keyReference.encode(into: &body)
        body.raw(keyCheckValue)
        body.raw(salt)
        body.u32(UInt32(segmentSize))
        body.raw(noncePrefix)
        if flags.contains(.customerKey) { body.raw(customerKeyCheck ?? []) }
        if flags.contains(.infrastructure) {
            guard let infrastructure else { throw StorageError(.invalidArgument, "infrastructure flag without its header fields") }
            body.u32(infrastructure.accountKeyVersion)
            body.raw(infrastructure.checkValue)
        }
        var w = ByteWriter()
        w.raw(Self.magic)
        w.u16(Self.version)
        w.u16(flags.rawValue)
        w.u16(UInt16(Self.preambleSize + body.bytes.count))
        w.raw(body.bytes)
        return w.bytes
    }

    /// Total fixed-header length from its preamble; checks magic and version.
    static func fixedLength(fromPreamble p: [UInt8]) throws -> Int {
        guard p.count >= preambleSize, Array(p[0..<4]) == magic else {
            throw StorageError(.unsupportedFormat, "not an AtRest object (bad magic)")
        }
        let version = UInt16(p[4]) << 8 | UInt16(p[5])
        guard version == Self.version else { throw StorageError(.unsupportedFormat, "object format version \(version) is not supported (this build reads v1)") }
        let length = Int(UInt16(p[8]) << 8 | UInt16(p[9]))
        guard length > preambleSize else { throw StorageError.integrity("bad header length") }
        return length
    }

    static func decode(_ bytes: [UInt8]) throws -> ObjectHeader {
        let length = try fixedLength(fromPreamble: bytes)
        guard bytes.count == length else { throw StorageError.integrity("bad header length") }
        var r = ByteReader(bytes)
        _ = try r.take(6)
        let flags = Flags(rawValue: try r.u16())
        _ = try r.u16()
        let reference = try KeyReference.decode(from: &r)
        var header = ObjectHeader(flags: flags, keyReference: reference, keyCheckValue: Array(try r.take(AccountKey.checkValueSize)),
                                  salt: Array(try r.take(saltSize)), segmentSize: Int(try r.u32()),
                                  noncePrefix: Array(try r.take(noncePrefixSize)),
                                  customerKeyCheck: flags.contains(.customerKey) ? Array(try r.take(CustomerKeyCheck.size)) : nil)
        if flags.contains(.infrastructure) {
            header.infrastructure = InfrastructureLayer(accountKeyVersion: try r.u32(), checkValue: Array(try r.take(AccountKey.checkValueSize)))
        }
        guard r.remaining == 0 else { throw StorageError.integrity("trailing bytes in header") }
        guard header.segmentSize > 0, header.segmentSize <= maxSegmentSize else { throw StorageError.integrity("bad segment size") }
        return header
    }
}
