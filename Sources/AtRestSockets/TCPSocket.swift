import Dispatch
import Glibc
import Synchronization

/// What a socket call reports: the call that failed and its errno (never
/// data). `endOfStream` is the peer's orderly close before a read was whole;
/// `closed` a call on a socket this process has shut down.
public struct SocketError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case system(Int32), endOfStream, closed, invalidAddress }
    public var operation: String
    public var kind: Kind

    public init(_ operation: String, _ kind: Kind) {
        self.operation = operation
        self.kind = kind
    }

    static func errno(_ operation: String) -> SocketError { SocketError(operation, .system(Glibc.errno)) }

    public var description: String {
        switch kind {
        case .system(let code): "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .endOfStream: "\(operation): the peer closed the connection"
        case .closed: "\(operation): the socket is closed"
        case .invalidAddress: "\(operation): not a numeric IPv4 or IPv6 address"
        }
    }
}

/// A file descriptor that is shut down (waking any thread blocked in it)
/// by `shutdown`, and closed only when no call can still use it (deinit:
/// every blocking call holds the object until it returns).
final class SocketHandle: Sendable {
    let fd: Int32
    private let isShutDown = Atomic<Bool>(false)

    init(fd: Int32) { self.fd = fd }

    deinit { _ = Glibc.close(fd) }

    var shutDown: Bool { isShutDown.load(ordering: .acquiring) }

    /// SHUT_RD wakes a blocked read/accept (it then sees end of stream);
    /// SHUT_RDWR also ends writes.
    func shutdown(writing: Bool) {
        if writing { isShutDown.store(true, ordering: .releasing) }
        _ = Glibc.shutdown(fd, Int32(writing ? SHUT_RDWR : SHUT_RD))
    }
}

/// A numeric host and a port as a socket address (the only place that
/// builds sockaddr values).
enum SocketAddress {
    static func withAddress<T>(host: String, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t, Int32) throws -> T) throws -> T {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result, let address = info.pointee.ai_addr else {
            throw SocketError("address \(host)", .invalidAddress)
        }
        defer { freeaddrinfo(result) }
        return try body(address, info.pointee.ai_addrlen, info.pointee.ai_family)
    }

    /// "host:port" of a connected or bound socket ("?" when it cannot be read).
    static func name(of fd: Int32, peer: Bool) -> (host: String, port: UInt16) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        }
        guard status == 0 else { return ("?", 0) }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &text, socklen_t(text.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard named == 0 else { return ("?", 0) }
        let host = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let port = service.withUnsafeBufferPointer { UInt16(String(cString: $0.baseAddress!)) ?? 0 }
        return (host, port)
    }

    static func newSocket(family: Int32) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError.errno("socket") }
        return fd
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// A listening TCP socket bound to a numeric host and port (port 0 picks a
/// free one; `port` tells which). `accept` waits on a thread of its own (a
/// serial dispatch queue), never on the cooperative pool; `close` wakes it.
public final class TCPListener: Sendable {
    private let handle: SocketHandle
    private let queue: DispatchQueue
    public let host: String
    public let port: UInt16

    public init(host: String = "127.0.0.1", port: UInt16, backlog: Int32 = 64) throws {
        let fd = try SocketAddress.withAddress(host: host, port: port) { address, length, family in
            let fd = try SocketAddress.newSocket(family: family)
            SocketAddress.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            guard bind(fd, address, length) == 0 else {
                let error = SocketError.errno("bind \(host):\(port)")
                _ = Glibc.close(fd)
                throw error
            }
            guard listen(fd, backlog) == 0 else {
                let error = SocketError.errno("listen \(host):\(port)")
                _ = Glibc.close(fd)
                throw error
            }
            return fd
        }
        handle = SocketHandle(fd: fd)
        self.host = host
        self.port = SocketAddress.name(of: fd, peer: false).port
        queue = DispatchQueue(label: "atrest.tcp.accept")
    }

    /// The next connection; throws `.closed` once `close` was called.
    public func accept() async throws -> TCPConnection {
        let handle = self.handle
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    while true {
                        if handle.shutDown { throw SocketError("accept", .closed) }
                        let fd = Glibc.accept(handle.fd, nil, nil)
                        if fd >= 0 {
                            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                            return TCPConnection(fd: fd)
                        }
                        let code = Glibc.errno
                        if handle.shutDown { throw SocketError("accept", .closed) }
                        // A connection reset before it was accepted, or a signal: try again.
                        if code == EINTR || code == ECONNABORTED || code == EPROTO { continue }
                        throw SocketError("accept", .system(code))
                    }
                })
            }
        }
    }

    /// Stops accepting: a waiting `accept` throws `.closed`.
    public func close() { handle.shutdown(writing: true) }
}

/// A connected TCP socket. `readExactly` and `writeAll` block on threads of
/// their own (one serial dispatch queue for reads, one for writes), never on
/// the cooperative pool; one reader and one writer at a time (callers
/// serialise their own reads and their own writes).
public final class TCPConnection: Sendable {
    private let handle: SocketHandle
    private let readQueue = DispatchQueue(label: "atrest.tcp.read")
    private let writeQueue = DispatchQueue(label: "atrest.tcp.write")
    /// The peer as "host:port" (for logs).
    public let peer: String

    init(fd: Int32) {
        handle = SocketHandle(fd: fd)
        SocketAddress.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let name = SocketAddress.name(of: fd, peer: true)
        peer = name.host.contains(":") ? "[\(name.host)]:\(name.port)" : "\(name.host):\(name.port)"
    }

    /// Connects to a numeric host and port (tests and tools).
    public static func connect(host: String, port: UInt16) async throws -> TCPConnection {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue(label: "atrest.tcp.connect").async {
                continuation.resume(with: Result {
                    try SocketAddress.withAddress(host: host, port: port) { address, length, family in
                        let fd = try SocketAddress.newSocket(family: family)
                        while Glibc.connect(fd, address, length) != 0 {
                            if Glibc.errno == EINTR { continue }
                            let error = SocketError.errno("connect \(host):\(port)")
                            _ = Glibc.close(fd)
                            throw error
                        }
                        return TCPConnection(fd: fd)
                    }
                })
            }
        }
    }

    /// Exactly `count` bytes; `.endOfStream` if the peer closes first.
    public func readExactly(_ count: Int) async throws -> [UInt8] {
        count == 0 ? [] : try await readAtLeast(count, upTo: count)
    }

    /// At least `minimum` bytes and at most `maximum`: whatever more the
    /// peer has already sent comes along in the same receive (a client with
    /// several requests in flight is read in one hop instead of one per
    /// request); blocks only until `minimum` are here. `.endOfStream` if the
    /// peer closes first.
    public func readAtLeast(_ minimum: Int, upTo maximum: Int) async throws -> [UInt8] {
        precondition(minimum > 0 && maximum >= minimum)
        let handle = self.handle
        return try await withCheckedThrowingContinuation { continuation in
            readQueue.async {
                continuation.resume(with: Result {
                    // Uninitialised: recv fills every byte kept before the array is
                    // returned (zeroing a 1 MiB NBD payload first cost a memset).
                    var filled = 0
                    let bytes = try [UInt8](unsafeUninitializedCapacity: maximum) { buffer, initialized in
                        defer { initialized = filled }
                        while filled < minimum {
                            let got = recv(handle.fd, buffer.baseAddress! + filled, maximum - filled, 0)
                            if got > 0 { filled += got; continue }
                            if got == 0 { throw SocketError("read", handle.shutDown ? .closed : .endOfStream) }
                            if Glibc.errno == EINTR { continue }
                            throw SocketError.errno("read")
                        }
                    }
                    return bytes
                })
            }
        }
    }

    /// What the peer has sent, 1 to `maxCount` bytes (blocks until some
    /// arrive); `.endOfStream` once the peer closed, EAGAIN as `.system`
    /// when a receive timeout (`setTimeouts`) ran out.
    public func readSome(maxCount: Int) async throws -> [UInt8] {
        precondition(maxCount > 0)
        let handle = self.handle
        return try await withCheckedThrowingContinuation { continuation in
            readQueue.async {
                continuation.resume(with: Result {
                    var bytes = [UInt8](repeating: 0, count: maxCount)
                    while true {
                        let got = bytes.withUnsafeMutableBytes { recv(handle.fd, $0.baseAddress!, maxCount, 0) }
                        if got > 0 { return Array(bytes[..<got]) }
                        if got == 0 { throw SocketError("read", handle.shutDown ? .closed : .endOfStream) }
                        if Glibc.errno == EINTR { continue }
                        throw SocketError.errno("read")
                    }
                })
            }
        }
    }

    /// Bounds every later blocking read and write to `seconds` (SO_RCVTIMEO,
    /// SO_SNDTIMEO): one that waits longer fails with EAGAIN, so a peer that
    /// stalls cannot hold a thread for ever.
    public func setTimeouts(seconds: Int) {
        var value = timeval(tv_sec: seconds, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            _ = setsockopt(handle.fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// All of `bytes`, or an error (the peer gone: EPIPE/ECONNRESET; no SIGPIPE).
    public func writeAll(_ bytes: [UInt8]) async throws {
        try await writeAll(parts: [bytes])
    }

    /// All of `parts`, one after the other with nothing between them (a
    /// gather write: a reply's header and its data leave without being
    /// copied into one buffer first), or an error as `writeAll`.
    public func writeAll(parts: [[UInt8]]) async throws {
        let parts = parts.filter { !$0.isEmpty }
        if parts.isEmpty { return }
        let handle = self.handle
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writeQueue.async {
                continuation.resume(with: Result { try Self.send(parts, on: handle) })
            }
        }
    }

    /// sendmsg(2) over `parts` until every byte is out, resuming after a
    /// partial send where it stopped.
    private static func send(_ parts: [[UInt8]], on handle: SocketHandle) throws {
        var part = 0, offset = 0
        while part < parts.count {
            if handle.shutDown { throw SocketError("write", .closed) }
            // At most 64 vectors a call (far below IOV_MAX); the loop sends the rest.
            let wrote = withPinned(parts[part ..< min(parts.count, part + 64)]) { buffers in
                var vectors = buffers.enumerated().map { index, buffer in
                    let skip = index == 0 ? offset : 0
                    return iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress! + skip), iov_len: buffer.count - skip)
                }
                return vectors.withUnsafeMutableBufferPointer { vectors in
                    var message = msghdr()
                    message.msg_iov = vectors.baseAddress
                    message.msg_iovlen = vectors.count
                    return sendmsg(handle.fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
            if wrote < 0 {
                if Glibc.errno == EINTR { continue }
                throw SocketError.errno("write")
            }
            var left = wrote
            while part < parts.count, left >= parts[part].count - offset {
                left -= parts[part].count - offset
                part += 1
                offset = 0
            }
            offset += left
        }
    }

    /// Calls `body` with the bytes of every array in `parts`, all pinned at once.
    private static func withPinned<R>(_ parts: ArraySlice<[UInt8]>, _ pinned: [UnsafeRawBufferPointer] = [],
                                      _ body: ([UnsafeRawBufferPointer]) -> R) -> R {
        guard let first = parts.first else { return body(pinned) }
        return first.withUnsafeBytes { withPinned(parts.dropFirst(), pinned + [$0], body) }
    }

    /// Ends reading: a blocked or later `readExactly` sees the end of the
    /// stream; writes still go out (a graceful stop answers what it read).
    public func stopReading() { handle.shutdown(writing: false) }

    /// Ends both directions; the descriptor is closed once no call uses it.
    public func close() { handle.shutdown(writing: true) }
}
