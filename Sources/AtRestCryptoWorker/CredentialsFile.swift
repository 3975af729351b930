import Glibc

/// Reads a service principal's secret from a one-line file (what the
/// identity service writes to `credentials/<name>.secret`, mode 0600).
public enum CredentialsFile {
    public static func readSecret(_ path: String) throws -> String {
        guard let file = fopen(path, "r") else {
            throw CredentialsError("cannot read credentials file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { throw CredentialsError("credentials file '\(path)' is empty") }
        let line = String(cString: buffer).trimmingCharacters(in: " \r\n\t")
        guard !line.isEmpty else { throw CredentialsError("credentials file '\(path)' is empty") }
        return line
    }
}

public struct CredentialsError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, set.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
