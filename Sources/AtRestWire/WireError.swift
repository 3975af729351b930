/// An error of the wire mapping layer.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The bytes are not a valid encoding of the expected message.
        public static let malformed = Code(rawValue: "malformed")
        /// A field holds a value the mapping cannot accept (bad enum, bad length, ...).
        public static let invalidField = Code(rawValue: "invalidField")
        /// The message is larger than the limit for it.
        public static let tooLarge = Code(rawValue: "tooLarge")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
