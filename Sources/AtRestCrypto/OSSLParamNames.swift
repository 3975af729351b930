import Glibc

/// C strings for OSSL_PARAM keys and values that live for the whole process.
///
/// `OSSL_PARAM` stores the key *pointer*; a Swift `String` bridged to
/// `const char *` only lives for one call, so params built from it dangle.
enum OSSLParamNames {
    nonisolated(unsafe) static let digest = strdup("digest")!
    nonisolated(unsafe) static let key = strdup("key")!
    nonisolated(unsafe) static let salt = strdup("salt")!
    nonisolated(unsafe) static let info = strdup("info")!
    nonisolated(unsafe) static let sha256 = strdup("SHA256")!
}
