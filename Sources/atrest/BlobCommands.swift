import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

/// The account every container and blob command works in.
struct AccountOption: ParsableArguments {
    @Option(help: "Account id (default $ATREST_ACCOUNT).") var account: String?

    func resolved() throws -> String {
        if let account, !account.isEmpty { return account }
        if let env = ProcessInfo.processInfo.environment["ATREST_ACCOUNT"], !env.isEmpty { return env }
        throw CLIFailure(message: "name the account: --account or $ATREST_ACCOUNT", exitCode: ExitCodes.usage)
    }
}

/// `atrest container create|list|rm`.
struct ContainerCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Containers of an account.", subcommands: [Create.self, List.self, Remove.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a container (3-63 of a-z 0-9 '-').")
        @Argument(help: "Container name.") var container: String
        @Option(help: "Encryption scope of writes that name none (default: the account's current key).") var scope = ""
        @Flag(help: "Refuse writes that name another scope than --scope.") var enforceScope = false
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func validate() throws {
            if enforceScope && scope.isEmpty { throw ValidationError("--enforce-scope needs --scope") }
        }
        func run() async throws {
            try await withBlobs(global, account) { try await $0.createContainer(container, defaultScope: scope, enforceScope: enforceScope) }
            global.output.record(["container": container, "created": true, "defaultScope": scope.isEmpty ? nil : scope,
                                  "enforceScope": scope.isEmpty ? nil : enforceScope])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers.", aliases: ["ls"])
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let names = try await withBlobs(global, account) { try await $0.listContainers() }
            global.output.table(["container"], names.map { [$0] })
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a container (empty only, unless --force).")
        @Argument(help: "Container name.") var container: String
        @Flag(help: "Delete the blobs in it too.") var force = false
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withBlobs(global, account) { try await $0.deleteContainer(container, force: force) }
            global.output.record(["container": container, "deleted": true])
        }
    }
}

/// `atrest blob put|get|ls|rm|props|set-metadata`.
struct BlobCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob", abstract: "Blobs: upload, download, list, delete, properties, metadata.",
        subcommands: [Put.self, PutFiles.self, Get.self, List.self, Remove.self, Props.self, SetMetadata.self])

    struct Target: ParsableArguments {
        @Argument(help: "Container.") var container: String
        @Argument(help: "Blob name.") var name: String
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a file (large files as staged blocks in parallel); SHA-256 checked end to end.")
        @OptionGroup var target: Target
        @Argument(help: "Local file.") var file: String
        @Option(help: "Content type.") var contentType = ""
        @OptionGroup var metadata: MetadataOption
        @Option(help: "Parallel block uploads.") var parallelism = 4
        @OptionGroup var encryptionKey: EncryptionKeyOption
        @Option(help: "Encryption scope to seal under (default: the container's default scope, else the account's current key).")
        var scope = ""
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let pairs = try metadata.parsed()
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.uint64Value ?? 0
            let bar = ProgressBar.make("upload", total: size)
            defer { bar?.finish() }
            let progress = bar?.callback
            let properties = try await withBlobs(global, account, parallelism: parallelism, encryptionKey: try encryptionKey.key()) { blobs in
                var blobs = blobs
                blobs.options.scope = scope
                return try await blobs.upload(target.container, target.name, file: file, contentType: contentType, metadata: pairs,
                                              progress: progress)
            }
            bar?.finish()  // the bar's line ends before the result
            printBlob(properties, global.output)
        }
    }

    /// Many files over one connection, `--parallelism` at a time (what
    /// scripts/compare-peers.sh measures against rclone and restic, which
    /// also send a whole directory from one process).
    struct PutFiles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put-files",
            abstract: "Upload local files, each as a blob named by its file name, several at a time over one connection; each durable when acknowledged.")
        @Argument(help: "Container.") var container: String
        @Argument(help: "Local files (their names, without the directory, are the blob names).") var files: [String]
        @Option(help: "Files in flight (1-64).") var parallelism = 4
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let names = files.map { ($0 as NSString).lastPathComponent }
            guard Set(names).count == names.count else { throw CLIFailure(message: "two files have the same name", exitCode: ExitCodes.usage) }
            guard (1...64).contains(parallelism) else { throw CLIFailure(message: "--parallelism must be 1-64", exitCode: ExitCodes.usage) }
            let (container, files, inFlight) = (container, files, parallelism)
            try await withBlobs(global, account, parallelism: 1) { blobs in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    var next = 0
                    func add() {
                        guard next < files.count else { return }
                        let (file, name) = (files[next], names[next])
                        next += 1
                        group.addTask { _ = try await blobs.upload(container, name, file: file) }
                    }
                    for _ in 0..<inFlight { add() }
                    while try await group.next() != nil { add() }
                }
            }
            print("uploaded \(files.count) files")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a blob to a file ('-': stdout); SHA-256 checked.")
        @OptionGroup var target: Target
        @Argument(help: "Local file, or - for stdout.") var file: String
        @Option(help: "Parallel range reads.") var parallelism = 4
        @OptionGroup var encryptionKey: EncryptionKeyOption
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let key = try encryptionKey.key()
            if file == "-" {
                let bytes = try await withBlobs(global, account, parallelism: parallelism, encryptionKey: key) {
                    try await $0.download(target.container, target.name)
                }
                FileHandle.standardOutput.write(Data(bytes))
                return
            }
            let holder = ProgressHolder()
            defer { holder.bar?.finish() }
            let properties = try await withBlobs(global, account, parallelism: parallelism, encryptionKey: key) {
                try await $0.download(target.container, target.name, toFile: file) { done, total in
                    holder.update(done, total)
                }
            }
            holder.bar?.finish()
            holder.bar = nil
            printBlob(properties, global.output, extra: ["file": file])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List blobs (all pages).")
        @Argument(help: "Container.") var container: String
        @Option(help: "Only names starting with this.") var prefix = ""
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let listing = try await withBlobs(global, account) { try await $0.listAll(container, prefix: prefix) }
            global.output.table(["name", "length", "contentType", "created"], listing.blobs.map {
                [$0.name, $0.length, $0.contentType, isoTime($0.createdAtMs)]
            })
            if listing.damagedCount > 0 {
                FileHandle.standardError.write(Data((
                    "warning: \(listing.damagedCount) damaged object(s) in '\(container)' failed authentication and are not "
                    + "listed (storage ids: \(listing.damagedIDs.joined(separator: ", "))); see docs/OPERATIONS.md\n").utf8))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a blob.")
        @OptionGroup var target: Target
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await withBlobs(global, account) { try await $0.delete(target.container, target.name) }
            global.output.record(["container": target.container, "name": target.name, "deleted": true])
        }
    }

    struct Props: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a blob's properties and metadata.")
        @OptionGroup var target: Target
        @OptionGroup var encryptionKey: EncryptionKeyOption
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printBlob(try await withBlobs(global, account, encryptionKey: try encryptionKey.key()) { try await $0.properties(target.container, target.name) }, global.output)
        }
    }

    struct SetMetadata: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-metadata", abstract: "Replace a blob's user metadata.")
        @OptionGroup var target: Target
        @Argument(help: "key=value pairs, as with --metadata (none of either: clear).") var pairs: [String] = []
        @OptionGroup var metadataOption: MetadataOption
        @Option(help: "Also replace the content type.") var contentType: String?
        @OptionGroup var encryptionKey: EncryptionKeyOption
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let metadata = try metadataOption.parsed(pairs)
            printBlob(try await withBlobs(global, account, encryptionKey: try encryptionKey.key()) {
                try await $0.setMetadata(target.container, target.name, metadata, contentType: contentType)
            }, global.output)
        }
    }
}

/// Creates the progress bar once the total is known (downloads learn it from the first range).
final class ProgressHolder: @unchecked Sendable {
    var bar: ProgressBar?
    private let label: String
    private var decided = false
    init(_ label: String = "download") { self.label = label }
    func update(_ done: UInt64, _ total: UInt64) {
        if !decided {
            decided = true
            bar = ProgressBar.make(label, total: total)
        }
        bar?.update(done, total)
    }
}

/// User metadata as every verb takes it: `--metadata key=value`, repeatable
/// (`set-metadata` also takes the pairs as arguments, as it always did).
struct MetadataOption: ParsableArguments {
    @Option(name: .customLong("metadata"), help: "User metadata key=value (repeatable; encrypted at rest).") var metadata: [String] = []

    /// The pairs, plus `more` (set-metadata's arguments).
    func parsed(_ more: [String] = []) throws -> [String: String] { try parseMetadata(metadata + more) }
}

/// `key=value` pairs; a key given twice is an error (the one parser for metadata).
func parseMetadata(_ pairs: [String]) throws -> [String: String] {
    var metadata: [String: String] = [:]
    for pair in pairs {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
            throw CLIFailure(message: "metadata must be key=value, got '\(pair)'", exitCode: ExitCodes.usage)
        }
        let key = String(pair[..<eq])
        guard metadata.updateValue(String(pair[pair.index(after: eq)...]), forKey: key) == nil else {
            throw CLIFailure(message: "metadata key '\(key)' is given twice", exitCode: ExitCodes.usage)
        }
    }
    return metadata
}

func printBlob(_ blob: BlobProperties, _ output: Output, extra: [String: String] = [:]) {
    let metadata = blob.metadata.filter { $0.key != BlobTransferOptions.contentHashKey }.sorted { $0.key < $1.key }
        .map { "\($0.key)=\($0.value)" }
    output.record([
        "container": blob.container, "name": blob.name, "length": blob.length, "contentType": blob.contentType,
        "created": isoTime(blob.createdAtMs), "sha256": blob.metadata[BlobTransferOptions.contentHashKey] ?? "",
        "metadata": metadata, "file": extra["file"] as Any,
    ])
}

/// Runs `body` with a blob client of the account on the configured endpoint
/// and token. The CLI hashes whole contents (`BlobChecksum.wholeContent`):
/// uploads send per-block hashes the worker verifies and store the file's
/// SHA-256 as `content-sha256`, which downloads check before the file is
/// renamed into place.
func withBlobs<R>(_ global: GlobalOptions, _ account: AccountOption, parallelism: Int = 4,
                  encryptionKey: CustomerProvidedKey? = nil, _ body: (BlobClient) async throws -> R) async throws -> R {
    let name = try account.resolved()
    guard (1...64).contains(parallelism) else { throw CLIFailure(message: "--parallelism must be 1-64", exitCode: ExitCodes.usage) }
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(BlobClient(client, account: name, options: BlobTransferOptions(parallelism: parallelism, checksum: .wholeContent),
                                     encryptionKey: encryptionKey))
}
