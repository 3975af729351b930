import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

/// `atrest share create|ls|show|quota|set-metadata|delete`.
struct ShareCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share", abstract: "File shares: trees of directories and files with a quota (names, contents and metadata encrypted at rest).",
        discussion: "A share is named ACCOUNT/SHARE (or SHARE with --account or $ATREST_ACCOUNT). Quotas take a unit: "
            + "1MiB, 10GiB, 1TiB (K, M, G, T are binary units; KB, MB, GB, TB powers of 1000). Files: `atrest file`.",
        subcommands: [Create.self, List.self, Show.self, Quota.self, SetMetadata.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty share (3-63 of a-z 0-9 and single hyphens).")
        @Argument(help: "ACCOUNT/SHARE.") var share: String
        @Option(help: "The most its files may hold together: 1 B to 5 PiB (10GiB, ...).") var quota: String
        @Option(name: .customLong("metadata"), help: "Metadata key=value (repeatable; encrypted at rest).") var metadata: [String] = []
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let bytes = try parseSize(quota, what: "--quota"), pairs = try parseMetadata(metadata)
            let target = try accountScoped(share, account, kind: "share")
            let created = try await withFiles(global, target.account) { try await $0.createShare(target.name, quota: bytes, metadata: pairs) }
            printShare(created, target.account, global.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List an account's shares by name.", aliases: ["list"])
        @Argument(help: "Account id (default --account or $ATREST_ACCOUNT).") var accountID: String?
        @Option(help: "Only names starting with this.") var prefix = ""
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let name = try accountID.flatMap { $0.isEmpty ? nil : $0 } ?? account.resolved()
            let shares = try await withFiles(global, name) { try await $0.listAllShares(prefix: prefix) }
            global.output.table(["share", "quota", "used", "files", "directories", "created", "metadata"],
                                shares.map { [$0.share, $0.quota, $0.usageBytes, $0.files, $0.directories, isoTime($0.createdAtMs),
                                              metadataText($0.metadata)] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A share's quota, usage (bytes, files, directories), creation time and metadata.")
        @Argument(help: "ACCOUNT/SHARE.") var share: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try accountScoped(share, account, kind: "share")
            printShare(try await withFiles(global, target.account) { try await $0.shareProperties(target.name) }, target.account, global.output)
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a share's quota (below its usage it only stops growth).")
        @Argument(help: "ACCOUNT/SHARE.") var share: String
        @Argument(help: "The new quota: 1 B to 5 PiB (10GiB, ...).") var quota: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let bytes = try parseSize(quota, what: "the quota"), target = try accountScoped(share, account, kind: "share")
            printShare(try await withFiles(global, target.account) { try await $0.setShareQuota(target.name, quota: bytes) }, target.account,
                       global.output)
        }
    }

    struct SetMetadata: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-metadata", abstract: "Replace a share's metadata.")
        @Argument(help: "ACCOUNT/SHARE.") var share: String
        @Argument(help: "key=value pairs (none: clear).") var pairs: [String] = []
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let metadata = try parseMetadata(pairs), target = try accountScoped(share, account, kind: "share")
            printShare(try await withFiles(global, target.account) { try await $0.setShareMetadata(target.name, metadata) }, target.account,
                       global.output)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a share with every directory and file in it.", aliases: ["rm"])
        @Argument(help: "ACCOUNT/SHARE.") var share: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try accountScoped(share, account, kind: "share")
            try await withFiles(global, target.account) { try await $0.deleteShare(target.name) }
            global.output.record(["account": target.account, "share": target.name, "deleted": true])
        }
    }
}

func withFiles<R>(_ global: GlobalOptions, _ account: String, _ body: (FileClient) async throws -> R) async throws -> R {
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(FileClient(client, account: account))
}

func printShare(_ share: ShareProperties, _ account: String, _ output: Output) {
    output.record(["account": account, "share": share.share, "quota": share.quota, "used": share.usageBytes, "files": share.files,
                   "directories": share.directories, "created": isoTime(share.createdAtMs), "metadata": metadataText(share.metadata)])
}
