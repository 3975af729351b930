/// Listen addresses as flags spell them: `HOST:PORT`, an IPv6 host in
/// brackets (`[::1]:9464`); the host is numeric (`TCPListener` resolves no names).
public enum HostPort {
    /// The host and port of `text`; nil when it is not HOST:PORT with a port 0-65535 and a host.
    public static func parse(_ text: String) -> (host: String, port: UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    public static func format(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
