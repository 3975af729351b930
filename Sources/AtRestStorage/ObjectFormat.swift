/// Format v1 in one call for objects held in memory. Streaming code uses
/// `ObjectSealer` and `ObjectReader` directly.
public enum ObjectFormat {
    /// Seals `data` with `metadata` (its `length` is set from `data`).
    public static func seal(_ data: [UInt8], metadata: ObjectMetadata, accountKey: AccountKey, context: [UInt8]) throws -> [UInt8] {
        let total = try sealedSize(dataLength: data.count, metadata: metadata, accountKey: accountKey)
        return try data.withUnsafeBytes { input in
            try [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
                initialized = try seal(input, metadata: metadata, accountKey: accountKey, context: context,
                                       into: UnsafeMutableRawBufferPointer(buffer))
            }
        }
    }

    /// Seals `data` into a caller buffer of at least `sealedSize(...)` bytes
    /// (lets hot paths reuse buffers); returns the bytes written.
    public static func seal(_ data: UnsafeRawBufferPointer, metadata: ObjectMetadata, accountKey: AccountKey, context: [UInt8],
                            into output: UnsafeMutableRawBufferPointer) throws -> Int {
        try ObjectSealer.sealInMemory(data, accountKey: accountKey, context: context, metadata: metadata, into: output)
    }

    /// Exact size of the sealed object for `dataLength` bytes with `metadata`.
    public static func sealedSize(dataLength: Int, metadata: ObjectMetadata, accountKey: AccountKey) throws -> Int {
        var ref = ByteWriter()
        try accountKey.reference.encode(into: &ref)
        let flags: ObjectHeader.Flags = accountKey.infrastructure == nil ? [] : .infrastructure
        let overhead = ObjectHeader.sealOverhead(flags)
        let fixed = ObjectHeader.preambleSize + ref.bytes.count + AccountKey.checkValueSize + ObjectHeader.saltSize + 4 + ObjectHeader.noncePrefixSize
            + (accountKey.customerKey == nil ? 0 : CustomerKeyCheck.size)
            + (flags.contains(.infrastructure) ? ObjectHeader.InfrastructureLayer.size : 0)
        let metadataBlock = 12 + 4 + (try metadata.encode()).count + overhead
        return fixed + metadataBlock + Int(SegmentLayout.sealedSize(length: UInt64(dataLength), segmentSize: ObjectHeader.defaultSegmentSize, overhead: overhead))
    }

    /// Opens a sealed object; any change to its bytes is `.integrityFailure`.
    public static func open(_ sealed: [UInt8], accountKey: AccountKey, context: [UInt8]) throws -> (metadata: ObjectMetadata, data: [UInt8]) {
        let reader = try ObjectReader(source: BufferSource(sealed), accountKey: accountKey, context: context)
        try reader.requireCustomerKey()
        return (reader.metadata, try reader.readAll())
    }
}

/// The identity an object key is bound to (HKDF info): account, container and
/// the kind of file. Not the object name: listing must decrypt names from
/// headers before it knows them; the store binds the name instead by checking
/// the decrypted name against the file's keyed-hash name.
public struct ObjectIdentity: Sendable, Hashable {
    public enum Kind: String, Sendable { case object, block, container, extent }
    public var account: String
    public var container: String
    public var kind: Kind

    public init(account: String, container: String, kind: Kind = .object) {
        self.account = account
        self.container = container
        self.kind = kind
    }

    public var context: [UInt8] {
        var w = ByteWriter()
        for part in [kind.rawValue, account, container] { let u = Array(part.utf8); w.u32(UInt32(u.count)); w.raw(u) }
        return w.bytes
    }
}
