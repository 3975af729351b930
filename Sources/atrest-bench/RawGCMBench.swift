import AtRestCrypto

/// Raw AES-256-GCM through EVP with one keyed context, as the references the
/// object format is compared with: a buffer of `size` bytes is sealed (or
/// opened) in 64 KiB calls into a separate output buffer, each call with a
/// fresh nonce and a 32-byte AAD — exactly the work format v1 does per
/// segment, minus the format (headers, key derivation, placement).
///
/// `size` 64 KiB keeps input and output in L1/L2 (`openssl speed -evp
/// aes-256-gcm -bytes 65536`, the baseline); `size` equal to an
/// object's size gives the same memory traffic as sealing that object.
/// `inputOffset` shifts the input off cache-line alignment (diagnostics).
final class RawGCMBench {
    static let chunk = 64 << 10
    let size: Int
    private let context: AESGCMContext
    private let input: UnsafeMutableRawBufferPointer
    private let output: UnsafeMutableRawBufferPointer
    private let sealed: UnsafeMutableRawBufferPointer
    private var tags: [UInt8]
    private var nonce = [UInt8](repeating: 0, count: 12)
    private let aad = [UInt8](repeating: 7, count: 32)
    private let inputOffset: Int

    init(size: Int, inputOffset: Int = 0) throws {
        self.size = size
        self.inputOffset = inputOffset
        context = try AESGCMContext(key: SecretBytes(randomCount: 32))
        input = .allocate(byteCount: size + inputOffset, alignment: 64)
        output = .allocate(byteCount: size + inputOffset, alignment: 64)
        sealed = .allocate(byteCount: size + inputOffset, alignment: 64)
        try SecureRandom.fill(input)
        output.initializeMemory(as: UInt8.self, repeating: 0)
        tags = [UInt8](repeating: 0, count: (size / Self.chunk) * 16)
        // Ciphertext and tags for `open`, sealed once with the same nonces.
        try run(encrypt: true, from: input, to: sealed, outputOffset: inputOffset)
    }

    deinit { input.deallocate(); output.deallocate(); sealed.deallocate() }

    func seal() throws { try run(encrypt: true, from: input, to: output) }
    func open() throws { try run(encrypt: false, from: sealed, to: output) }

    /// Opens the first `count` bytes (a multiple of `chunk`) into `target`
    /// (the get's CPU floor opens straight into each reply's buffer).
    func open(into target: UnsafeMutableRawBufferPointer, count: Int) throws {
        precondition(count <= size && count % Self.chunk == 0 && target.count >= count && inputOffset == 0)
        try run(encrypt: false, from: sealed, to: target, count: count)
    }

    private func run(encrypt: Bool, from source: UnsafeMutableRawBufferPointer, to target: UnsafeMutableRawBufferPointer,
                     outputOffset: Int = 0, count: Int? = nil) throws {
        let shift = inputOffset, outShift = outputOffset
        try nonce.withUnsafeMutableBytes { n in
            try aad.withUnsafeBytes { a in
                try tags.withUnsafeMutableBytes { t in
                    for (i, offset) in stride(from: 0, to: count ?? size, by: Self.chunk).enumerated() {
                        n.storeBytes(of: UInt32(i).bigEndian, toByteOffset: 8, as: UInt32.self)
                        let inp = UnsafeRawBufferPointer(rebasing: source[(shift + offset)..<(shift + offset + Self.chunk)])
                        let out = UnsafeMutableRawBufferPointer(rebasing: target[(outShift + offset)..<(outShift + offset + Self.chunk)])
                        let tag = UnsafeMutableRawBufferPointer(rebasing: t[(i * 16)..<(i * 16 + 16)])
                        if encrypt {
                            try context.seal(inp, into: out, nonce: UnsafeRawBufferPointer(n), aad: a, tag: tag)
                        } else {
                            try context.open(inp, into: out, nonce: UnsafeRawBufferPointer(n), aad: a, tag: UnsafeRawBufferPointer(tag))
                        }
                    }
                }
            }
        }
    }
}
