/// An error reading or writing a service's local state. Names the path, never
/// the content.
public struct LocalStateError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A system call failed (the message carries strerror).
        public static let io = Code(rawValue: "io")
        /// The file exists but is not what it should be (truncated, wrong magic, does not authenticate).
        public static let corrupt = Code(rawValue: "corrupt")
        /// A key file is readable by group or others.
        public static let insecurePermissions = Code(rawValue: "insecurePermissions")
        /// A key given in a file or the environment is malformed.
        public static let invalidKey = Code(rawValue: "invalidKey")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
