import ArgumentParser

/// Every benchmark subcommand; add one line per benchmark.
enum BenchRegistry {
    static let all: [any ParsableCommand.Type] = [
        CryptoBench.self,
        VaultBench.self,
    ]
}
