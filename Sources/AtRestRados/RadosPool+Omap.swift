internal import CRados

/// One page of an object's omap, in key order.
public struct RadosOmapPage: Sendable, Equatable {
    public var entries: [(key: String, value: [UInt8])]
    /// More keys follow the last one; ask again with `after:` that key.
    public var more: Bool

    public init(entries: [(key: String, value: [UInt8])], more: Bool) {
        self.entries = entries
        self.more = more
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.more == b.more && a.entries.map(\.key) == b.entries.map(\.key) && a.entries.map(\.value) == b.entries.map(\.value)
    }
}

extension RadosPool {
    /// Sets omap `entries` of `object` (creating the object if needed).
    public func setOmap(_ object: String, _ entries: [String: [UInt8]]) throws {
        try operate(object, RadosWriteOperation([.setOmap(entries)]))
    }

    /// Up to `max` omap entries of `object` with keys after `after` (from the first when nil).
    public func omapPage(_ object: String, after: String? = nil, max: Int = 1000) throws -> RadosOmapPage {
        let op = rados_create_read_op()
        defer { rados_release_read_op(op) }
        var iterator: rados_omap_iter_t?
        var more: UInt8 = 0
        var rval: Int32 = 0
        rados_read_op_omap_get_vals2(op, after ?? "", nil, UInt64(Swift.max(1, max)), &iterator, &more, &rval)
        try check(rados_read_op_operate(op, ioctx, object, 0), "omap page \(name)/\(object)")
        try check(rval, "omap page \(name)/\(object)")
        guard let iterator else { return RadosOmapPage(entries: [], more: false) }
        defer { rados_omap_get_end(iterator) }
        return RadosOmapPage(entries: try RadosOmapPage.entries(iterator, "omap next \(name)/\(object)"), more: more != 0)
    }
}

extension RadosOmapPage {
    /// Every entry left in `iterator` (which the caller releases).
    static func entries(_ iterator: rados_omap_iter_t, _ call: String) throws -> [(key: String, value: [UInt8])] {
        var entries: [(key: String, value: [UInt8])] = []
        while true {
            var key: UnsafeMutablePointer<CChar>?
            var value: UnsafeMutablePointer<CChar>?
            var keyLength = 0, valueLength = 0
            try RadosError.check(rados_omap_get_next2(iterator, &key, &value, &keyLength, &valueLength), call)
            guard let key else { return entries }
            let keyString = String(decoding: UnsafeRawBufferPointer(start: key, count: keyLength), as: UTF8.self)
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: valueLength)) } ?? []
            entries.append((keyString, bytes))
        }
    }
}
