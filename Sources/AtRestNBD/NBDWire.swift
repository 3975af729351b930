/// The NBD protocol's bytes (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md):
/// the fixed newstyle handshake, option requests and replies, transmission
/// requests and simple replies. Pure functions over byte arrays (no I/O), so
/// they can be tested and fuzzed alone; every integer is big-endian.
public enum NBDWire {
    // Handshake.
    public static let nbdMagic: UInt64 = 0x4e42_444d_4147_4943  // "NBDMAGIC"
    public static let optionMagic: UInt64 = 0x4948_4156_454f_5054  // "IHAVEOPT"
    public static let optionReplyMagic: UInt64 = 0x0003_e889_0455_65a9
    public static let flagFixedNewstyle: UInt16 = 1 << 0
    public static let flagNoZeroes: UInt16 = 1 << 1
    public static let clientFlagFixedNewstyle: UInt32 = 1 << 0
    public static let clientFlagNoZeroes: UInt32 = 1 << 1

    // Transmission.
    public static let requestMagic: UInt32 = 0x2560_9513
    public static let simpleReplyMagic: UInt32 = 0x6744_6698
    public static let requestHeaderSize = 28
    public static let optionHeaderSize = 16

    /// The server's first 18 bytes: NBDMAGIC, IHAVEOPT, handshake flags.
    public static func greeting() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(nbdMagic)
        bytes.append(optionMagic)
        bytes.append(flagFixedNewstyle | flagNoZeroes)
        return bytes
    }

    /// The client's flags (4 bytes after the greeting): fixed newstyle is
    /// required, unknown bits refused. Returns whether the client asked for no zeroes.
    public static func parseClientFlags(_ bytes: [UInt8]) throws(NBDProtocolError) -> (noZeroes: Bool, flags: UInt32) {
        guard bytes.count == 4 else { throw .truncated("client flags") }
        let flags = bytes.uint32(at: 0)
        guard flags & ~(clientFlagFixedNewstyle | clientFlagNoZeroes) == 0 else { throw .unsupported("unknown client flags 0x\(String(flags, radix: 16))") }
        guard flags & clientFlagFixedNewstyle != 0 else { throw .unsupported("the client does not speak fixed newstyle") }
        return (flags & clientFlagNoZeroes != 0, flags)
    }
}

/// Why bytes from a client were refused (no data in the text, only sizes,
/// numbers and the field at fault).
public struct NBDProtocolError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case badMagic, truncated, unsupported, invalid, tooLarge }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    static func badMagic(_ what: String) -> Self { Self(.badMagic, "bad magic in \(what)") }
    static func truncated(_ what: String) -> Self { Self(.truncated, "truncated \(what)") }
    static func unsupported(_ what: String) -> Self { Self(.unsupported, what) }
    static func invalid(_ what: String) -> Self { Self(.invalid, what) }

    public var description: String { "NBD protocol: \(message)" }
}

// MARK: - Options (handshake phase)

/// NBD option numbers the server knows.
public enum NBDOption: UInt32, Sendable {
    case exportName = 1, abort = 2, list = 3, startTLS = 5, info = 6, go = 7, structuredReply = 8
    case listMetaContext = 9, setMetaContext = 10, extendedHeaders = 11
}

/// Option reply types: successes below 2^31, errors above.
public enum NBDReplyType: UInt32, Sendable {
    case ack = 1, server = 2, info = 3
    case errUnsupported = 0x8000_0001, errPolicy = 0x8000_0002, errInvalid = 0x8000_0003, errPlatform = 0x8000_0004
    case errTLSRequired = 0x8000_0005, errUnknown = 0x8000_0006, errShutdown = 0x8000_0007, errBlockSizeRequired = 0x8000_0008
    case errTooBig = 0x8000_0009
}

/// NBD_INFO_* items of NBD_REP_INFO.
public enum NBDInfoType: UInt16, Sendable { case export = 0, name = 1, description = 2, blockSize = 3 }

/// One option request's header: IHAVEOPT, option, data length.
public struct NBDOptionHeader: Equatable, Sendable {
    public var option: UInt32
    public var length: UInt32

    public init(option: UInt32, length: UInt32) {
        self.option = option
        self.length = length
    }

    public static func parse(_ bytes: [UInt8]) throws(NBDProtocolError) -> NBDOptionHeader {
        guard bytes.count == NBDWire.optionHeaderSize else { throw .truncated("option header") }
        guard bytes.uint64(at: 0) == NBDWire.optionMagic else { throw .badMagic("option header") }
        return NBDOptionHeader(option: bytes.uint32(at: 8), length: bytes.uint32(at: 12))
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(NBDWire.optionMagic)
        bytes.append(option)
        bytes.append(length)
        return bytes
    }
}

/// The data of NBD_OPT_INFO and NBD_OPT_GO: an export name and the
/// information items the client asks for.
public struct NBDExportRequest: Equatable, Sendable {
    public var name: String
    public var requests: [UInt16]

    public init(name: String, requests: [UInt16]) {
        self.name = name
        self.requests = requests
    }

    /// Names longer than this (the NBD maximum string length) are refused.
    public static let maxNameLength = 4096

    public static func parse(_ data: [UInt8]) throws(NBDProtocolError) -> NBDExportRequest {
        guard data.count >= 4 else { throw .invalid("export request shorter than its name length") }
        let nameLength = Int(data.uint32(at: 0))
        guard nameLength <= maxNameLength else { throw .invalid("export name of \(nameLength) bytes (at most \(maxNameLength))") }
        guard data.count >= 4 + nameLength + 2 else { throw .invalid("export request shorter than its name and item count") }
        guard let name = String(validating: data[4 ..< 4 + nameLength], as: UTF8.self) else { throw .invalid("export name is not UTF-8") }
        let count = Int(data.uint16(at: 4 + nameLength))
        guard data.count == 4 + nameLength + 2 + 2 * count else { throw .invalid("export request of \(data.count) bytes does not hold \(count) items") }
        let requests = (0 ..< count).map { data.uint16(at: 4 + nameLength + 2 + 2 * $0) }
        return NBDExportRequest(name: name, requests: requests)
    }

    public func encoded() -> [UInt8] {
        let utf8 = Array(name.utf8)
        var bytes: [UInt8] = []
        bytes.append(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
        bytes.append(UInt16(requests.count))
        for request in requests { bytes.append(request) }
        return bytes
    }
}

/// Option replies: magic, option, reply type, data length, data.
public enum NBDOptionReply {
    public static func encode(option: UInt32, type: NBDReplyType, data: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20 + data.count)
        bytes.append(NBDWire.optionReplyMagic)
        bytes.append(option)
        bytes.append(type.rawValue)
        bytes.append(UInt32(data.count))
        bytes.append(contentsOf: data)
        return bytes
    }

    /// Longest error message sent, in bytes (the spec's strings: at most
    /// 4096, no more than 256 recommended for names).
    public static let maxMessageLength = 1024

    /// An error reply with a human-readable message (the protocol allows
    /// one): a string as the spec defines them, UTF-8 without NUL, cut to
    /// `maxMessageLength` bytes at a character boundary.
    public static func error(option: UInt32, _ type: NBDReplyType, _ message: String) -> [UInt8] {
        var text = message.utf8.filter { $0 != 0 }
        if text.count > maxMessageLength {
            var end = maxMessageLength
            while end > 0, text[end] & 0xC0 == 0x80 { end -= 1 }  // not inside a multi-byte character
            text.removeSubrange(end...)
        }
        return encode(option: option, type: type, data: text)
    }

    /// NBD_REP_SERVER for NBD_OPT_LIST: the name's length and the name.
    public static func server(name: String) -> [UInt8] {
        let utf8 = Array(name.utf8)
        var data: [UInt8] = []
        data.append(UInt32(utf8.count))
        data.append(contentsOf: utf8)
        return encode(option: NBDOption.list.rawValue, type: .server, data: data)
    }

    /// NBD_REP_INFO / NBD_INFO_EXPORT: size and transmission flags.
    public static func exportInfo(option: UInt32, size: UInt64, flags: UInt16) -> [UInt8] {
        var data: [UInt8] = []
        data.append(NBDInfoType.export.rawValue)
        data.append(size)
        data.append(flags)
        return encode(option: option, type: .info, data: data)
    }

    /// NBD_REP_INFO / NBD_INFO_NAME.
    public static func nameInfo(option: UInt32, name: String) -> [UInt8] {
        var data: [UInt8] = []
        data.append(NBDInfoType.name.rawValue)
        data.append(contentsOf: Array(name.utf8))
        return encode(option: option, type: .info, data: data)
    }

    /// NBD_REP_INFO / NBD_INFO_BLOCK_SIZE: minimum, preferred, maximum.
    public static func blockSizeInfo(option: UInt32, minimum: UInt32, preferred: UInt32, maximum: UInt32) -> [UInt8] {
        var data: [UInt8] = []
        data.append(NBDInfoType.blockSize.rawValue)
        data.append(minimum)
        data.append(preferred)
        data.append(maximum)
        return encode(option: option, type: .info, data: data)
    }

    /// The reply to the old NBD_OPT_EXPORT_NAME: size, flags and, unless the
    /// client said NO_ZEROES, 124 zero bytes (no option reply header).
    public static func exportNameReply(size: UInt64, flags: UInt16, noZeroes: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(size)
        bytes.append(flags)
        if !noZeroes { bytes.append(contentsOf: [UInt8](repeating: 0, count: 124)) }
        return bytes
    }
}

// MARK: - Transmission

/// Transmission flags (NBD_FLAG_*), sent with the export's size.
public struct NBDTransmissionFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let hasFlags = Self(rawValue: 1 << 0)
    public static let readOnly = Self(rawValue: 1 << 1)
    public static let sendFlush = Self(rawValue: 1 << 2)
    public static let sendFUA = Self(rawValue: 1 << 3)
    public static let sendTrim = Self(rawValue: 1 << 5)
    public static let sendWriteZeroes = Self(rawValue: 1 << 6)
    public static let canMultiConn = Self(rawValue: 1 << 8)
}

/// Command flags (NBD_CMD_FLAG_*).
public struct NBDCommandFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let fua = Self(rawValue: 1 << 0)
    public static let noHole = Self(rawValue: 1 << 1)
    public static let dontFragment = Self(rawValue: 1 << 2)
    public static let requestOne = Self(rawValue: 1 << 3)
    public static let fastZero = Self(rawValue: 1 << 4)
}

/// NBD_CMD_* numbers.
public enum NBDCommand: UInt16, Sendable {
    case read = 0, write = 1, disconnect = 2, flush = 3, trim = 4, cache = 5, writeZeroes = 6, blockStatus = 7, resize = 8
}

/// Errors of simple replies: the NBD errno values (Linux numbers on the wire).
public enum NBDErrno: UInt32, Sendable {
    case ok = 0, permission = 1, io = 5, noMemory = 12, invalid = 22, noSpace = 28, overflow = 75, notSupported = 95, shutdown = 108
}

/// A transmission request header (28 bytes; a WRITE's data follows it).
public struct NBDRequest: Equatable, Sendable {
    public var flags: NBDCommandFlags
    /// The command number (unknown numbers are kept, and answered with EINVAL).
    public var type: UInt16
    public var handle: UInt64
    public var offset: UInt64
    public var length: UInt32

    public init(flags: NBDCommandFlags = [], type: UInt16, handle: UInt64, offset: UInt64, length: UInt32) {
        self.flags = flags
        self.type = type
        self.handle = handle
        self.offset = offset
        self.length = length
    }

    public var command: NBDCommand? { NBDCommand(rawValue: type) }

    public static func parse(_ bytes: [UInt8]) throws(NBDProtocolError) -> NBDRequest {
        guard bytes.count == NBDWire.requestHeaderSize else { throw .truncated("request header") }
        guard bytes.uint32(at: 0) == NBDWire.requestMagic else { throw .badMagic("request header") }
        return NBDRequest(flags: NBDCommandFlags(rawValue: bytes.uint16(at: 4)), type: bytes.uint16(at: 6),
                          handle: bytes.uint64(at: 8), offset: bytes.uint64(at: 16), length: bytes.uint32(at: 24))
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(NBDWire.requestHeaderSize)
        bytes.append(NBDWire.requestMagic)
        bytes.append(flags.rawValue)
        bytes.append(type)
        bytes.append(handle)
        bytes.append(offset)
        bytes.append(length)
        return bytes
    }
}

/// A simple reply: magic, error, handle, then a successful READ's data.
public struct NBDSimpleReply: Equatable, Sendable {
    public static let headerSize = 16
    public var error: UInt32
    public var handle: UInt64

    public init(error: UInt32, handle: UInt64) {
        self.error = error
        self.handle = handle
    }

    /// The reply's header (a read's data follows it: `parts`).
    public static func encode(error: NBDErrno, handle: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize)
        bytes.append(NBDWire.simpleReplyMagic)
        bytes.append(error.rawValue)
        bytes.append(handle)
        return bytes
    }

    /// The reply as the parts the server writes in one gather write: the
    /// header, then a read's data as it came (not copied behind the header).
    public static func parts(error: NBDErrno, handle: UInt64, data: [UInt8] = []) -> [[UInt8]] {
        data.isEmpty ? [encode(error: error, handle: handle)] : [encode(error: error, handle: handle), data]
    }

    public static func parse(_ bytes: [UInt8]) throws(NBDProtocolError) -> NBDSimpleReply {
        guard bytes.count == headerSize else { throw .truncated("simple reply") }
        guard bytes.uint32(at: 0) == NBDWire.simpleReplyMagic else { throw .badMagic("simple reply") }
        return NBDSimpleReply(error: bytes.uint32(at: 4), handle: bytes.uint64(at: 8))
    }
}

// MARK: - Big-endian integers

extension Array where Element == UInt8 {
    mutating func append<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { append(contentsOf: $0) }
    }

    func integer<T: FixedWidthInteger>(_: T.Type, at index: Int) -> T {
        var value: T = 0
        for offset in 0 ..< MemoryLayout<T>.size { value = value << 8 | T(self[index + offset]) }
        return value
    }

    func uint16(at index: Int) -> UInt16 { integer(UInt16.self, at: index) }
    func uint32(at index: Int) -> UInt32 { integer(UInt32.self, at: index) }
    func uint64(at index: Int) -> UInt64 { integer(UInt64.self, at: index) }
}
