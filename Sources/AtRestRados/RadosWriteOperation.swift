/// An atomic compound write on one object: the conditions are checked and the
/// steps applied together, or nothing changes. Built as a value, applied by
/// `RadosPool.operate`; a failed condition throws its typed error
/// (`.versionMismatch`, `.comparisonFailed`, `.alreadyExists`, `.notFound`).
public struct RadosWriteOperation: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Fails with `.versionMismatch` unless the object is at this version.
        case assertVersion(UInt64)
        /// Fails with `.notFound` unless the object exists.
        case assertExists
        /// Creates the object; exclusive fails with `.alreadyExists` if it exists.
        case create(exclusive: Bool)
        /// Fails with `.comparisonFailed` unless xattr `name` equals `value`.
        case compareXattr(name: String, value: [UInt8])
        /// Fails with `.comparisonFailed` unless omap key `key` holds `value`
        /// (an absent key compares as the empty value).
        case compareOmap(key: String, value: [UInt8])
        case setXattr(name: String, value: [UInt8])
        /// Replaces the object's data (librados copies the bytes while the op is built).
        case writeFull(RadosBytes)
        case setOmap([String: [UInt8]])
        case removeOmapKeys([String])
        /// Deletes the object.
        case remove
    }

    public var steps: [Step]

    public init(_ steps: [Step] = []) { self.steps = steps }
}
