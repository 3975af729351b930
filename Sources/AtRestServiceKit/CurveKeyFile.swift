import AtRestMessaging
import Foundation

/// CURVE key files, so secret keys never appear on a command line.
///
/// A key-pair file holds two lines, `public=<Z85>` and `secret=<Z85>`, and
/// must not be readable by group or others. An allow file lists client public
/// keys (Z85), one per line; a line starting with `#` is a comment
/// (`#` is also a Z85 digit, so it cannot start a comment mid-line).
public enum CurveKeyFile {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func readKeyPair(_ path: String) throws -> CurveKeyPair {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let mode = (attributes?[.posixPermissions] as? NSNumber)?.uint16Value, mode & 0o077 != 0 {
            throw Failure(description: "CURVE key file '\(path)' is readable by group or others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        let fields = try keyValues(path)
        guard let publicKey = fields["public"], let secretKey = fields["secret"] else {
            throw Failure(description: "CURVE key file '\(path)' needs two lines, public=<Z85> and secret=<Z85>")
        }
        do {
            return try CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
        } catch {
            throw Failure(description: "CURVE key file '\(path)': \(error)")
        }
    }

    /// Writes a key pair file (0600, never overwrites).
    public static func writeKeyPair(_ pair: CurveKeyPair, to path: String) throws {
        let text = "public=\(pair.publicKey)\nsecret=\(pair.exportSecretKey())\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "cannot create CURVE key file '\(path)'")
        }
    }

    public static func readAllowList(_ path: String) throws -> Set<String> {
        guard let text = text(of: path) else {
            throw Failure(description: "cannot read CURVE allow file '\(path)' (missing, unreadable or not UTF-8)")
        }
        var keys = Set<String>()
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // '#' is a Z85 digit, so only a line *starting* with it is a comment;
            // anything after the key (past whitespace) is ignored.
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let line = String(trimmed.split(separator: " ", maxSplits: 1)[0].split(separator: "\t", maxSplits: 1)[0])
            guard line.utf8.count == 40 else {
                throw Failure(description: "CURVE allow file '\(path)' line \(number + 1) is not a 40-character Z85 public key")
            }
            keys.insert(line)
        }
        return keys
    }

    private static func keyValues(_ path: String) throws -> [String: String] {
        guard let text = text(of: path) else {
            throw Failure(description: "cannot read CURVE key file '\(path)' (missing, unreadable or not UTF-8)")
        }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq]).trimmingCharacters(in: .whitespaces)] = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// The file's text; nil when it cannot be read, is larger than 1 MiB or is not UTF-8.
    /// Read with read(2): Foundation's file readers leak on some inputs
    /// (`FileManager.contents(atPath:)` 4 KiB on an empty file,
    /// `String(contentsOfFile:encoding:)` on a file that is not UTF-8: found by fuzz-keyfiles).
    private static func text(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= 1 << 20 else { return nil }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
