import ArgumentParser
import AtRestMessaging
import AtRestServiceKit
import Foundation

/// `atrest curve keygen FILE`: a CURVE key pair for a service or a client.
struct CurveCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "curve", abstract: "CURVE key files.", subcommands: [Keygen.self])

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new key pair to FILE (0600) unless it exists; print its public key either way.")
        @Argument(help: "Key-pair file (public=/secret= lines).") var file: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            var created = false
            if !FileManager.default.fileExists(atPath: file) {
                try CurveKeyFile.writeKeyPair(try CurveKeyPair.generate(), to: file)
                created = true
            }
            let pair = try CurveKeyFile.readKeyPair(file)
            if global.json {
                global.output.record(["file": file, "publicKey": pair.publicKey, "created": created])
            } else {
                print(pair.publicKey)
            }
        }
    }
}
