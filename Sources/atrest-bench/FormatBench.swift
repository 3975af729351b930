import AtRestCrypto
import AtRestStorage

/// Whole-object format-v1 seal and open of one in-memory object, buffers
/// reused across iterations; key derivation, header and metadata sealing
/// are included in every iteration (they are per-object costs).
final class FormatBench {
    let size: Int
    private let key: AccountKey
    private let data: [UInt8]
    private var sealed: [UInt8]
    private var plain: [UInt8]
    private let metadata = ObjectMetadata(name: "bench/object", userMetadata: ["k": "v"])
    private let context = ObjectIdentity(account: "bench", container: "c").context

    init(size: Int, key: AccountKey) throws {
        self.size = size
        self.key = key
        data = try SecureRandom.bytes(size)
        sealed = [UInt8](repeating: 0, count: try ObjectFormat.sealedSize(dataLength: size, metadata: metadata, accountKey: key))
        plain = [UInt8](repeating: 0, count: size)
        try seal()
        try open()
        guard plain == data else { throw CryptoError(.invalidInput, "format round trip returned different bytes") }
    }

    func seal() throws {
        _ = try data.withUnsafeBytes { d in
            try sealed.withUnsafeMutableBytes { try ObjectFormat.seal(d, metadata: metadata, accountKey: key, context: context, into: $0) }
        }
    }

    func open() throws {
        let reader = try ObjectReader(source: BufferSource(sealed), accountKey: key, context: context)
        try plain.withUnsafeMutableBytes { try reader.read(into: $0) }
    }
}
