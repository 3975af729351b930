/// The one line a service prints on stdout once it serves, so launchers and
/// tests can find it: `ready <name> endpoint=<endpoint> [key=value ...]`.
/// `ServiceMain` prints it once the service group runs.
public enum ReadyLine {
    public static func format(name: String, endpoint: String, extra: [(String, String)] = []) -> String {
        var line = "ready \(name) endpoint=\(endpoint)"
        for (key, value) in extra { line += " \(key)=\(value)" }
        return line
    }

    /// Parses a ready line back into its fields (for launchers and tests).
    public static func parse(_ line: String) -> (name: String, fields: [String: String])? {
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0] == "ready" else { return nil }
        var fields: [String: String] = [:]
        for part in parts.dropFirst(2) {
            guard let eq = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        return (String(parts[1]), fields)
    }
}
