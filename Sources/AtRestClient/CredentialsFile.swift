import Glibc

/// Reads a service principal's secret from a one-line file: what the identity
/// service writes to `credentials/<name>.secret` (mode 0600, `Bootstrap`).
/// Every service that logs in as a service principal reads it through here.
public enum CredentialsFile {
    public static func readSecret(_ path: String) throws -> String {
        guard let file = fopen(path, "r") else {
            throw CredentialsError("cannot read credentials file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { throw CredentialsError("credentials file '\(path)' is empty") }
        let line = String(cString: buffer).trimmingWhitespace()
        guard !line.isEmpty else { throw CredentialsError("credentials file '\(path)' is empty") }
        return line
    }
}

public struct CredentialsError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let blank: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\r" || $0 == "\n" || $0 == "\t" }
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, blank(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, blank(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
