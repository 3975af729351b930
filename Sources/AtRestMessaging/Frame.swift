internal import CZeroMQ
import AtRestWire
import Glibc

/// One ZeroMQ message part, owning a heap `zmq_msg_t`.
///
/// A frame moves between threads but is used by one at a time (the
/// messaging layer hands it over, never shares it), hence `@unchecked
/// Sendable`. Sending consumes the frame's contents (libzmq empties the
/// message), so a frame is sent at most once; `copy()` shares the buffer of
/// a large frame (reference-counted by libzmq) to keep a retry copy.
public final class Frame: @unchecked Sendable {
    let message: UnsafeMutablePointer<zmq_msg_t>

    /// Frames at least this large are sent without copying.
    static let zeroCopyThreshold = 4096

    init() {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    init(size: Int) {
        message = .allocate(capacity: 1)
        zmq_msg_init_size(message, size)
    }

    /// A frame holding a copy of `buffer`.
    public convenience init(copying buffer: UnsafeRawBufferPointer) {
        self.init(size: buffer.count)
        if buffer.count > 0 {
            zmq_msg_data(message).copyMemory(from: buffer.baseAddress!, byteCount: buffer.count)
        }
    }

    /// A frame over `bytes`; large ones are handed to libzmq without copying
    /// (`zmq_msg_init_data`, the array kept alive until libzmq lets go),
    /// small ones are copied (cheaper than a callback).
    public convenience init(_ bytes: [UInt8]) { self.init(PayloadPart(bytes)) }

    public convenience init(_ string: String) { self.init(Array(string.utf8)) }

    /// A frame over a payload part; large ones are handed to libzmq without
    /// copying (the part's owner is retained until libzmq lets go).
    public convenience init(_ part: PayloadPart) {
        if part.count < Frame.zeroCopyThreshold {
            self.init(size: part.count)
            if part.count > 0 {
                part.withUnsafeBytes { zmq_msg_data(message).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
        } else {
            self.init()
            let (owner, base) = part.retainedStorage()
            let hint = Unmanaged.passRetained(owner).toOpaque()
            zmq_msg_close(message)
            zmq_msg_init_data(message, UnsafeMutableRawPointer(mutating: base), part.count, releaseOwner, hint)
        }
    }

    /// The contents as a payload part, without copying: the part keeps this
    /// frame alive. Only for frames that are never sent afterwards (sending
    /// empties a frame).
    public var part: PayloadPart {
        PayloadPart(owner: self, base: UnsafeRawPointer(zmq_msg_data(message)), count: count)
    }

    public convenience init(byte: UInt8) {
        self.init(size: 1)
        zmq_msg_data(message).storeBytes(of: byte, as: UInt8.self)
    }

    /// An empty frame (the delimiter).
    public static func empty() -> Frame { Frame() }

    public var count: Int { zmq_msg_size(message) }
    public var isEmpty: Bool { count == 0 }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message)))
    }

    /// A copy of the contents.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// The first byte, if any.
    var firstByte: UInt8? { count > 0 ? zmq_msg_data(message).load(as: UInt8.self) : nil }

    /// A frame with the same contents; large buffers are shared, not copied.
    public func copy() -> Frame {
        let other = Frame()
        zmq_msg_copy(other.message, message)
        return other
    }

    func equals(_ bytes: [UInt8]) -> Bool {
        withUnsafeBytes { $0.elementsEqual(bytes) }
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }
}

/// libzmq's free callback for frames over a payload part's memory (may run
/// on an I/O thread): lets go of the part's owner.
private let releaseOwner: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, hint in
    guard let hint else { return }
    Unmanaged<AnyObject>.fromOpaque(hint).release()
}
