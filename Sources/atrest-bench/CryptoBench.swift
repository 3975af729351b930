import ArgumentParser
import AtRestCrypto

/// Placeholder for issue 3's crypto benchmark (raw EVP vs object format).
struct CryptoBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crypto", abstract: "AES-256-GCM throughput.")
    func run() throws {}
}
