import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

/// `--encryption-key-file PATH` of `blob put|get|props|set-metadata`: a
/// customer-provided key (docs/CLI.md), 32 raw bytes or 64 hex digits (one
/// trailing newline allowed). The CLI computes its SHA-256; the key is sent
/// only over CURVE and never printed.
struct EncryptionKeyOption: ParsableArguments {
    @Option(help: ArgumentHelp("A customer-provided AES-256 key: a file of 32 raw bytes or 64 hex digits. "
                                + "A blob written with one needs the same key for every read.", valueName: "path"))
    var encryptionKeyFile: String?

    func key() throws -> CustomerProvidedKey? {
        guard let path = encryptionKeyFile else { return nil }
        guard var bytes = FileManager.default.contents(atPath: path).map(Array.init) else {
            throw CLIFailure(message: "cannot read the encryption key file '\(path)'", exitCode: ExitCodes.usage)
        }
        defer { bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        guard let key = try CustomerProvidedKey.make(fileContents: bytes) else {
            throw CLIFailure(message: "the encryption key file '\(path)' must hold 32 raw bytes or 64 hex digits (\(bytes.count) bytes found)",
                             exitCode: ExitCodes.usage)
        }
        return key
    }
}
