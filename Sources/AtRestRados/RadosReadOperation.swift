/// An atomic compound read of one object: every step sees the same version
/// of the object (e.g. stat + xattrs + a range in one round trip, or a range
/// read only while the object is still at a version). Built as a value,
/// applied by `RadosPool.read(_:_:)`; a failed assertion throws its typed
/// error (`.versionMismatch`, `.notFound`).
public struct RadosReadOperation: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Fails with `.versionMismatch` unless the object is at this version.
        case assertVersion(UInt64)
        /// Size and modification time (`RadosReadResult.stat`).
        case stat
        /// Every xattr of the object (`RadosReadResult.xattrs`).
        case xattrs
        /// Up to `length` bytes from `offset` (`RadosReadResult.data`).
        case read(offset: UInt64, length: Int)
        /// Up to `max` omap entries with keys after `after` that start with
        /// `prefix`, in key order (`RadosReadResult.omap`).
        case omap(after: String?, prefix: String, max: Int)
        /// The omap entries of these keys that exist (`RadosReadResult.omapValues`).
        case omapValues(keys: [String])
        /// Up to `max` omap keys after `after`, in key order, without their
        /// values (`RadosReadResult.omapKeys`).
        case omapKeys(after: String?, max: Int)
    }

    public var steps: [Step]

    public init(_ steps: [Step]) { self.steps = steps }
}

/// What a `RadosReadOperation` returned; a field is set when its step was asked for.
public struct RadosReadResult: Sendable {
    /// The object's version the whole operation saw.
    public var version: UInt64
    public var stat: RadosObjectStat?
    public var xattrs: [String: [UInt8]] = [:]
    public var data: [UInt8] = []
    public var omap: RadosOmapPage?
    public var omapValues: [String: [UInt8]] = [:]
    /// The keys of an `omapKeys` step, and whether more follow the last one.
    public var omapKeys: (keys: [String], more: Bool)?
}
