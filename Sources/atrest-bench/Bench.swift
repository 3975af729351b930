import ArgumentParser

/// `atrest-bench`: benchmarks that print numbers and ratios against a
/// baseline measured in the same run. Never timed assertions in tests.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-bench",
        abstract: "AtRest benchmarks: each prints its numbers and the ratio to a baseline measured in the same run.",
        subcommands: BenchRegistry.all)
}
