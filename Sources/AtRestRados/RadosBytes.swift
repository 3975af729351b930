/// Bytes that another object owns (e.g. a sealed buffer), which a write step
/// can hand to librados as they are: librados copies them into its own
/// buffer while the op is built, so there is no copy into an array first.
public protocol RadosByteSource: AnyObject, Sendable {
    var count: Int { get }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

/// The data of a write step: an array, or a `RadosByteSource`. Equal when
/// the bytes are.
public struct RadosBytes: Sendable, Equatable, ExpressibleByArrayLiteral {
    private enum Storage: Sendable {
        case array([UInt8])
        case source(any RadosByteSource)
    }

    private let storage: Storage

    public init(_ bytes: [UInt8]) { storage = .array(bytes) }
    public init(_ source: any RadosByteSource) { storage = .source(source) }
    public init(arrayLiteral elements: UInt8...) { storage = .array(elements) }

    public var count: Int {
        switch storage {
        case .array(let bytes): bytes.count
        case .source(let source): source.count
        }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .array(let bytes): try bytes.withUnsafeBytes(body)
        case .source(let source): try source.withUnsafeBytes(body)
        }
    }

    public static func == (a: RadosBytes, b: RadosBytes) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }
}
