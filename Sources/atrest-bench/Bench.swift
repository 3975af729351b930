import ArgumentParser

/// `atrest-bench`: benchmarks that print numbers and ratios against a
/// baseline measured in the same run. Never timed assertions in tests.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-bench",
        abstract: "AtRest benchmarks: each prints its numbers and the ratio to a baseline measured in the same run.",
        subcommands: BenchRegistry.all)

    /// As `AsyncParsableCommand.main`, with the machine's load printed
    /// (`BenchEnvironment`) before every subcommand runs (not for help, nor
    /// for the helper processes benches start themselves).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if !(command is BenchHelperCommand) { BenchEnvironment.announce() }
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// A subcommand a bench runs as its own child process (not a bench).
protocol BenchHelperCommand {}
