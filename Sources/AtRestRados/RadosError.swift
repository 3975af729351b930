/// An error of a librados call. The message names the call and the object or
/// pool; it never carries key material (keyrings stay in their files).
public struct RadosError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The monitors did not answer within the configured timeout (message names them).
        public static let unreachable = Code(rawValue: "unreachable")
        /// The pool does not exist (or the user may not see it).
        public static let poolNotFound = Code(rawValue: "poolNotFound")
        /// -ENOENT / -ENODATA: the object (or xattr) does not exist.
        public static let notFound = Code(rawValue: "notFound")
        /// -EEXIST: an exclusive create found the object.
        public static let alreadyExists = Code(rawValue: "alreadyExists")
        /// -ERANGE / -EOVERFLOW: an asserted object version is not the current one.
        public static let versionMismatch = Code(rawValue: "versionMismatch")
        /// -ECANCELED: a compared xattr (or omap value) differs.
        public static let comparisonFailed = Code(rawValue: "comparisonFailed")
        /// -EPERM / -EACCES: the cephx user lacks the capability (or its key is wrong).
        public static let permissionDenied = Code(rawValue: "permissionDenied")
        /// -ETIMEDOUT on an operation (the OSDs did not answer in time).
        public static let timedOut = Code(rawValue: "timedOut")
        /// Any other errno; the message names it.
        public static let failed = Code(rawValue: "failed")
    }

    public var code: Code
    /// The positive errno librados returned (0 when none).
    public var errno: Int32
    public var message: String

    public init(_ code: Code, errno: Int32 = 0, _ message: String) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
