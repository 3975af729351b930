import AtRestWire

/// Reads a few top-level fields of a protobuf-encoded header without
/// decoding the rest (docs/PROTOCOL.md "Broker fast path").
///
/// Why: the broker only needs the method, call id, idempotency key and
/// timeout of a request, and the call id of a reply, to route them. A full
/// decode + re-encode through protobuf-c costs more than the rest of the
/// broker's work per call; the scan walks the wire format once and checks
/// its structure (varints terminate, lengths stay inside the frame, wire
/// types are known), so a structurally broken header is still rejected.
/// Nested content (the metadata map, the status) is skipped, not validated:
/// the receiving end decodes it fully.
struct HeaderScan {
    /// Length-delimited fields 1...7 by number (the last occurrence wins, as in protobuf).
    private(set) var bytes = [Range<Int>?](repeating: nil, count: 8)
    /// Varint fields 1...7 by number.
    private(set) var varints = [UInt64?](repeating: nil, count: 8)

    /// Scans `buffer`, keeping fields 1...7; nil when the wire format is broken.
    init?(_ buffer: UnsafeRawBufferPointer) {
        var index = 0
        func varint() -> UInt64? { Varint.read(buffer, at: &index) }
        while index < buffer.count {
            guard let key = varint(), key >> 3 > 0, key >> 3 <= UInt64(UInt32.max) else { return nil }
            let field = UInt32(key >> 3)
            switch key & 7 {
            case 0:
                guard let value = varint() else { return nil }
                if field < 8 { varints[Int(field)] = value }
            case 1:
                guard buffer.count - index >= 8 else { return nil }
                index += 8
            case 2:
                guard let length = varint(), length <= UInt64(buffer.count - index) else { return nil }
                let range = index..<(index + Int(length))
                index = range.upperBound
                if field < 8 { bytes[Int(field)] = range }
            case 5:
                guard buffer.count - index >= 4 else { return nil }
                index += 4
            default:
                return nil
            }
        }
    }
}

/// The routing fields of a request header (`atrest.v1.RpcHeader`).
struct RequestRouting {
    var method: String
    var callID: [UInt8]
    var hasIdempotencyKey: Bool
    var attempt: UInt32
    var timeoutMs: UInt32

    /// nil when the header is not a structurally valid RpcHeader.
    init?(_ frame: Frame) {
        guard let scanned = frame.withUnsafeBytes({ raw -> RequestRouting? in
            guard let scan = HeaderScan(raw) else { return nil }
            let method = scan.bytes[1].map { String(decoding: raw[$0], as: UTF8.self) } ?? ""
            let callID = scan.bytes[2].map { Array(raw[$0]) } ?? []
            return RequestRouting(
                method: method, callID: callID, hasIdempotencyKey: !(scan.bytes[3]?.isEmpty ?? true),
                attempt: UInt32(truncatingIfNeeded: scan.varints[4] ?? 0),
                timeoutMs: UInt32(truncatingIfNeeded: scan.varints[5] ?? 0))
        }) else { return nil }
        self = scanned
    }

    private init(method: String, callID: [UInt8], hasIdempotencyKey: Bool, attempt: UInt32, timeoutMs: UInt32) {
        self.method = method
        self.callID = callID
        self.hasIdempotencyKey = hasIdempotencyKey
        self.attempt = attempt
        self.timeoutMs = timeoutMs
    }
}

extension Frame {
    /// The call id of a reply header (`atrest.v1.ReplyHeader` field 1) as a
    /// key; nil when the header is broken or the id is not 16 bytes.
    var replyCallKey: CallKey? {
        withUnsafeBytes { raw in
            guard let scan = HeaderScan(raw), let range = scan.bytes[1] else { return nil }
            return CallKey(Array(raw[range]))
        }
    }
}

extension Frame {
    /// The status code of a reply header (`ReplyHeader.status.code`), read by
    /// the same scan, for the broker's counters; OK when absent, UNKNOWN when
    /// the status does not scan or holds an unknown code.
    var replyStatusCode: StatusCode {
        withUnsafeBytes { raw in
            guard let scan = HeaderScan(raw), let range = scan.bytes[2] else { return .ok }
            guard let status = HeaderScan(UnsafeRawBufferPointer(rebasing: raw[range])) else { return .unknown }
            return StatusCode(rawValue: Int32(truncatingIfNeeded: status.varints[1] ?? 0)) ?? .unknown
        }
    }
}
