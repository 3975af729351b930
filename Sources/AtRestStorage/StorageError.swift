/// An error of the storage layer (object format and store). Never carries key
/// bytes or plaintext names of other objects.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Stored bytes were changed, truncated, reordered or spliced: nothing is returned.
        public static let integrityFailure = Code(rawValue: "integrityFailure")
        /// The object was written under another key (reference or key check value differ).
        public static let wrongKey = Code(rawValue: "wrongKey")
        /// Not an AtRest object, or a format version this build cannot read.
        public static let unsupportedFormat = Code(rawValue: "unsupportedFormat")
        public static let notFound = Code(rawValue: "notFound")
        public static let containerNotFound = Code(rawValue: "containerNotFound")
        public static let alreadyExists = Code(rawValue: "alreadyExists")
        /// A conditional put or delete (`WriteCondition`) found another version: nothing changed.
        public static let conditionFailed = Code(rawValue: "conditionFailed")
        public static let invalidArgument = Code(rawValue: "invalidArgument")
        /// The content hash the client sent does not match the bytes received.
        public static let contentHashMismatch = Code(rawValue: "contentHashMismatch")
        /// A system call failed; the message names it and errno.
        public static let io = Code(rawValue: "io")
        /// The medium did not answer in time (a Ceph cluster unreachable or
        /// its OSDs down). Nothing was acknowledged; a write may or may not
        /// have happened, so only an idempotent call may be retried blindly.
        public static let unavailable = Code(rawValue: "unavailable")
        /// A directory that must be empty holds entries (file shares: rmdir, rename over it).
        public static let notEmpty = Code(rawValue: "notEmpty")
        /// A file call named a directory (file shares).
        public static let isDirectory = Code(rawValue: "isDirectory")
        /// A path component or a directory call named a file (file shares).
        public static let notDirectory = Code(rawValue: "notDirectory")
        /// A quota would be exceeded (a file share's bytes).
        public static let resourceExhausted = Code(rawValue: "resourceExhausted")
        /// The object was written with a customer-provided key and the request sent none.
        public static let customerKeyRequired = Code(rawValue: "customerKeyRequired")
        /// The request's customer-provided key is not the one the object was written with.
        public static let customerKeyMismatch = Code(rawValue: "customerKeyMismatch")
        /// The object's account key version is known but may not be used now
        /// (a disabled encryption scope, a KEK the vault refuses): `details` say why.
        public static let keyUnavailable = Code(rawValue: "keyUnavailable")
    }

    public var code: Code
    public var message: String
    /// Machine-readable specifics for the caller's status (e.g. `reason`, `scope`); never key bytes.
    public var details: [String: String] = [:]

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    static func integrity(_ what: String) -> StorageError { StorageError(.integrityFailure, "object failed integrity check: \(what)") }
}
