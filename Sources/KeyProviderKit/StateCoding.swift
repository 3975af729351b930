import AtRestCrypto

/// The provider state blob: "KPS1" | u32 key count | per key: u16 id length,
/// id, 5 x u32 (state, stateBeforeDelete, flags, rotationDays, retentionDays),
/// 5 x i64 (createdAt, rotatedAt, expiresAt, deletedAt, purgeAfter),
/// u32 version count, 32 bytes per version. Little-endian.
///
/// The blob holds key material, so it is built inside `SecretBytes` (wiped on
/// release) and only ever leaves through the host's `store_state`, which
/// encrypts it under the vault root key.
enum StateCoding {
    static let magic: [UInt8] = Array("KPS1".utf8)

    static func encode(_ keys: [String: StoredKey]) -> SecretBytes {
        let sorted = keys.values.sorted { $0.id < $1.id }
        let size = 8 + sorted.reduce(0) { $0 + 2 + $1.id.utf8.count + 20 + 40 + 4 + 32 * $1.versions.count }
        return SecretBytes(count: size) { out in
            var writer = Writer(out: out)
            writer.put(magic)
            writer.put(UInt32(sorted.count))
            for key in sorted {
                writer.put(UInt16(key.id.utf8.count))
                writer.put(Array(key.id.utf8))
                for value in [key.state, key.stateBeforeDelete, key.flags, key.rotationDays, key.retentionDays] { writer.put(value) }
                for value in [key.createdAt, key.rotatedAt, key.expiresAt, key.deletedAt, key.purgeAfter] { writer.put(UInt64(bitPattern: value)) }
                writer.put(UInt32(key.versions.count))
                for version in key.versions { version.withUnsafeBytes { writer.put($0) } }
            }
        }
    }

    static func decode(_ blob: UnsafeRawBufferPointer, provider: String) throws(ProviderFailure) -> [String: StoredKey] {
        var reader = Reader(bytes: blob, provider: provider)
        guard try reader.take(4).elementsEqual(magic) else {
            throw ProviderFailure(.corrupt, "\(provider) state does not start with KPS1")
        }
        var keys: [String: StoredKey] = [:]
        for _ in 0..<(try reader.u32()) {
            let idLength = Int(try reader.u16())
            let id = String(decoding: try reader.take(idLength), as: UTF8.self)
            var key = StoredKey(id: id, versions: [])
            key.state = try reader.u32()
            key.stateBeforeDelete = try reader.u32()
            key.flags = try reader.u32()
            key.rotationDays = try reader.u32()
            key.retentionDays = try reader.u32()
            key.createdAt = Int64(bitPattern: try reader.u64())
            key.rotatedAt = Int64(bitPattern: try reader.u64())
            key.expiresAt = Int64(bitPattern: try reader.u64())
            key.deletedAt = Int64(bitPattern: try reader.u64())
            key.purgeAfter = Int64(bitPattern: try reader.u64())
            let count = try reader.u32()
            guard count >= 1, count <= 1_000_000 else {
                throw ProviderFailure(.corrupt, "\(provider) state: key '\(id)' has \(count) versions")
            }
            for _ in 0..<count { key.versions.append(SecretBytes(try reader.take(32))) }
            keys[id] = key
        }
        guard reader.atEnd else { throw ProviderFailure(.corrupt, "\(provider) state has trailing bytes") }
        return keys
    }

    struct Writer {
        let out: UnsafeMutableRawBufferPointer
        var offset = 0

        mutating func put(_ bytes: some Collection<UInt8>) {
            for byte in bytes { out[offset] = byte; offset += 1 }
        }

        mutating func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { for byte in $0 { out[offset] = byte; offset += 1 } }
        }
    }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let provider: String
        var offset = 0

        init(bytes: UnsafeRawBufferPointer, provider: String) {
            self.bytes = bytes
            self.provider = provider
        }

        var atEnd: Bool { offset == bytes.count }

        mutating func take(_ count: Int) throws(ProviderFailure) -> UnsafeRawBufferPointer {
            guard count <= bytes.count - offset else { throw ProviderFailure(.corrupt, "\(provider) state is truncated") }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(ProviderFailure) -> T {
            var value = T.zero
            let source = try take(MemoryLayout<T>.size)
            withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: source) }
            return T(littleEndian: value)
        }

        mutating func u16() throws(ProviderFailure) -> UInt16 { try integer(UInt16.self) }
        mutating func u32() throws(ProviderFailure) -> UInt32 { try integer(UInt32.self) }
        mutating func u64() throws(ProviderFailure) -> UInt64 { try integer(UInt64.self) }
    }
}
