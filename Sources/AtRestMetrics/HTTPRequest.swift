/// The little of HTTP/1.x the metrics listener reads: the request line of a
/// request whose head (up to the blank line) is whole. Pure: no I/O, so it
/// is tested on bytes alone.
public enum HTTPHead: Equatable, Sendable {
    /// A head is not whole yet: read more.
    case incomplete
    /// A well-formed request line (headers are read past, not interpreted).
    case request(method: String, path: String)
    /// Not HTTP/1.x, or a head larger than `maxHeadBytes`.
    case malformed(String)

    /// Heads larger than this are refused (a scrape sends a few hundred bytes).
    public static let maxHeadBytes = 8192

    public static func parse(_ bytes: [UInt8]) -> HTTPHead {
        guard let end = headEnd(bytes) else {
            return bytes.count > maxHeadBytes ? .malformed("request head larger than \(maxHeadBytes) bytes") : .incomplete
        }
        if end > maxHeadBytes { return .malformed("request head larger than \(maxHeadBytes) bytes") }
        let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) ?? bytes.firstIndex(of: UInt8(ascii: "\n")) ?? end
        guard let line = String(validating: bytes[..<lineEnd], as: UTF8.self) else { return .malformed("request line is not UTF-8") }
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .malformed("request line is not METHOD PATH VERSION") }
        let method = parts[0], target = parts[1], version = parts[2]
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .malformed("not HTTP/1.0 or HTTP/1.1") }
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return .malformed("bad method")
        }
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return .malformed("bad request target") }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return .request(method: String(method), path: String(path))
    }

    /// The index just past the blank line ending the head (CRLF CRLF, or LF LF).
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { return index + 2 }
                if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "\r"), bytes[index + 2] == UInt8(ascii: "\n") { return index + 3 }
            }
            index += 1
        }
        return nil
    }
}

/// A whole HTTP/1.1 response; the listener closes the connection after it.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, text: String) {
        self.init(status: status, body: Array(text.utf8))
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }

    public var bytes: [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        if status == 405 { head += "Allow: GET, HEAD\r\n" }
        head += "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}
