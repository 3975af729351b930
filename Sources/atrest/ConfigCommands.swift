import ArgumentParser
import Foundation

/// `atrest config show|list|use`: the saved profiles. Tokens and keys are
/// never printed: a token shows as whether it is set and until when, the
/// CURVE server key as whether it is set.
struct ConfigCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show the saved connection profiles and choose the current one.",
        subcommands: [Show.self, List.self, Use.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a profile (default: the selected one): endpoint, CURVE, login.")
        @Argument(help: "Profile name.") var name: String?
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let file = try CLIConfigFile.load()
            let selected = file.selected(name ?? global.profile)
            guard let config = file.profiles[selected] else {
                throw CLIFailure(message: "no profile '\(selected)' in \(CLIConfig.path)", exitCode: ExitCodes.notFound,
                                 hint: "`atrest login --profile \(selected) …` creates it; `atrest config list` lists the profiles")
            }
            global.output.record([
                "profile": selected, "current": selected == (file.current ?? CLIConfigFile.defaultProfile), "config": CLIConfig.path,
                "endpoint": config.endpoint ?? "", "curve": config.curveServerKey != nil,
                "curveKeyFile": config.curveKeyFile ?? "", "principal": config.principal ?? "", "tenant": config.tenant ?? "",
                "token": config.token == nil ? "none" : "set", "expiresAt": isoTime(seconds: config.expiresAt ?? 0),
            ])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the profiles.", aliases: ["ls"])
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let file = try CLIConfigFile.load()
            let current = file.current ?? CLIConfigFile.defaultProfile
            global.output.table(["profile", "current", "endpoint", "principal", "tenant"], file.profiles.keys.sorted().map { name in
                let config = file.profiles[name]!
                return [name, name == current, config.endpoint ?? "", config.principal ?? "", config.tenant ?? ""]
            })
        }
    }

    struct Use: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a profile the current one.")
        @Argument(help: "Profile name.") var name: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            var file = try CLIConfigFile.load()
            guard file.profiles[name] != nil else {
                throw CLIFailure(message: "no profile '\(name)' in \(CLIConfig.path)", exitCode: ExitCodes.notFound,
                                 hint: "`atrest login --profile \(name) …` creates it")
            }
            file.current = name
            try file.save()
            global.output.record(["profile": name, "current": true])
        }
    }
}
