internal import COpenSSL

/// An error of the crypto layer. Never carries key bytes.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Authenticated decryption failed: wrong key, wrong AAD, or the data was changed.
        public static let authenticationFailure = Code(rawValue: "authenticationFailure")
        /// A key, nonce, tag or input has the wrong size.
        public static let invalidInput = Code(rawValue: "invalidInput")
        /// OpenSSL reported an error; `message` holds its drained error queue.
        public static let openSSL = Code(rawValue: "openSSL")
        /// A signature did not verify.
        public static let invalidSignature = Code(rawValue: "invalidSignature")
        /// The FIPS provider was required but could not be loaded.
        public static let fipsUnavailable = Code(rawValue: "fipsUnavailable")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// An `.openSSL` error naming the failed operation, with OpenSSL's error
    /// queue drained into the message (so it does not leak into later calls).
    static func openSSL(_ operation: String) -> CryptoError {
        let queue = OpenSSLErrorQueue.drain()
        return CryptoError(.openSSL, queue.isEmpty ? "\(operation) failed" : "\(operation) failed: \(queue)")
    }
}

enum OpenSSLErrorQueue {
    /// Empties this thread's OpenSSL error queue and returns its entries, joined.
    static func drain() -> String {
        var entries: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            entries.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return entries.joined(separator: "; ")
    }

    /// Drops stale entries before an operation whose failure will be reported.
    static func clear() { ERR_clear_error() }
}
