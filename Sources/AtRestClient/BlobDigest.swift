import AtRestCrypto
import AtRestWire

/// SHA-256 and random bytes for the blob client (AtRestCrypto underneath),
/// plus the hex form used in the `content-sha256` metadata entry.
enum SHA256Digest {
    static func of(_ bytes: [UInt8]) throws -> [UInt8] { try SHA256.hash(bytes) }

    static func of(_ part: PayloadPart) throws -> [UInt8] {
        let context = try SHA256()
        try part.withUnsafeBytes { try context.update($0) }
        return try context.finalize()
    }

    static func random(_ count: Int) throws -> [UInt8] { try SecureRandom.bytes(count) }


    /// An incremental hash over a transfer, fed in order.
    final class Running {
        private let context: SHA256
        init() throws { context = try SHA256() }
        func update(_ part: PayloadPart) throws { try part.withUnsafeBytes { try context.update($0) } }
        func finish() throws -> [UInt8] { try context.finalize() }
    }
}
