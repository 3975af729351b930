import ArgumentParser
import AtRestClient
import AtRestWire
import Foundation

/// `atrest disk create|resize|show|set-metadata|delete|ls|ranges|import|export`.
struct DiskCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disk", abstract: "Disks: sparse page blobs of a fixed size (pages, names and metadata encrypted at rest).",
        discussion: "A disk is named ACCOUNT/DISK (or DISK with --account or $ATREST_ACCOUNT). Sizes take a unit: "
            + "512, 4KiB, 64MiB, 10GiB, 1TiB (K, M, G, T are the same binary units; KB, MB, GB, TB are powers of 1000).",
        subcommands: [Create.self, Resize.self, Show.self, SetMetadata.self, Delete.self, List.self, Ranges.self,
                      Import.self, Export.self, Serve.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a disk that reads as zeros (3-63 of a-z 0-9 and single hyphens).")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Option(help: "Size: a multiple of 512 bytes, 512 B to 4 TiB (64MiB, 10GiB, ...).") var size: String
        @Option(name: .customLong("metadata"), help: "Metadata key=value (repeatable; encrypted at rest).") var metadata: [String] = []
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let bytes = try parseSize(size), pairs = try parseMetadata(metadata)
            let target = try DiskTarget(disk, account)
            let created = try await withDisks(global, target) { try await $0.create(target.disk, size: bytes, metadata: pairs) }
            printDisk(created, target, global.output)
        }
    }

    struct Resize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grow (new bytes read as zeros) or shrink (the pages beyond are dropped) a disk.")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Option(help: "The new size: a multiple of 512 bytes, 512 B to 4 TiB.") var size: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let bytes = try parseSize(size), target = try DiskTarget(disk, account)
            printDisk(try await withDisks(global, target) { try await $0.resize(target.disk, size: bytes) }, target, global.output)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A disk's size, creation time, metadata and written bytes.")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try DiskTarget(disk, account)
            let (properties, ranges) = try await withDisks(global, target) { disks in
                (try await disks.properties(target.disk), try await disks.pageRanges(target.disk))
            }
            printDisk(properties, target, global.output, written: ranges.reduce(0) { $0 + $1.length })
        }
    }

    struct SetMetadata: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-metadata", abstract: "Replace a disk's metadata.")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Argument(help: "key=value pairs, as with --metadata (none of either: clear).") var pairs: [String] = []
        @OptionGroup var metadataOption: MetadataOption
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let metadata = try metadataOption.parsed(pairs), target = try DiskTarget(disk, account)
            printDisk(try await withDisks(global, target) { try await $0.setMetadata(target.disk, metadata) }, target, global.output)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a disk and all its pages.", aliases: ["rm"])
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try DiskTarget(disk, account)
            try await withDisks(global, target) { try await $0.delete(target.disk) }
            global.output.record(["account": target.account, "disk": target.disk, "deleted": true])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List an account's disks by name.", aliases: ["list"])
        @Argument(help: "Account id (default --account or $ATREST_ACCOUNT).") var accountID: String?
        @Option(help: "Only names starting with this.") var prefix = ""
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let name = try accountID.flatMap { $0.isEmpty ? nil : $0 } ?? account.resolved()
            let disks = try await withDisks(global, DiskTarget(account: name, disk: "")) { try await $0.listAll(prefix: prefix) }
            global.output.table(["disk", "size", "created", "metadata"],
                                disks.map { [$0.disk, $0.size, isoTime($0.createdAtMs), metadataText($0.metadata)] })
        }
    }

    struct Ranges: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The written ranges of a disk (4 KiB granularity), offsets and lengths in bytes.")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Option(help: "From this byte.") var offset: String = "0"
        @Option(help: "This many bytes (default: to the end).") var length: String?
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try DiskTarget(disk, account)
            let from = try parseSize(offset, what: "--offset"), count = try length.map { try parseSize($0, what: "--length") } ?? 0
            if length != nil, count == 0 { throw CLIFailure(message: "--length must be at least 1 byte", exitCode: ExitCodes.usage) }
            let ranges = try await withDisks(global, target) { try await $0.pageRanges(target.disk, offset: from, length: count) }
            global.output.table(["offset", "length"], ranges.map { [$0.offset, $0.length] })
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a local file (a raw image) into a disk from offset 0; all-zero 4 KiB runs are not sent (sparse).",
            discussion: "Into an existing disk (at least the file's size) the zero runs are cleared, so the disk's first bytes equal "
                + "the file; bytes beyond the file stay. With --create a new disk of the file's size (rounded up to 512) is made first.")
        @Argument(help: "Local file.") var file: String
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Flag(help: "Create the disk first, of the file's size (it must not exist).") var create = false
        @Option(name: .customLong("metadata"), help: "With --create: metadata key=value (repeatable).") var metadata: [String] = []
        @Option(help: "Calls in flight (1-64).") var parallelism = 4
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try DiskTarget(disk, account), pairs = try parseMetadata(metadata)
            guard create || pairs.isEmpty else { throw CLIFailure(message: "--metadata needs --create", exitCode: ExitCodes.usage) }
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                  let length = (attributes[.size] as? NSNumber)?.uint64Value else {
                throw CLIFailure(message: "cannot read \(file)", exitCode: ExitCodes.usage)
            }
            let bar = ProgressBar.make("import", total: length)
            defer { bar?.finish() }
            let progress = bar?.callback
            let summary = try await withDisks(global, target) { disks in
                if create {
                    guard length > 0 else { throw CLIFailure(message: "\(file) is empty: nothing to size the disk by", exitCode: ExitCodes.usage) }
                    try await disks.create(target.disk, size: (length + 511) / 512 * 512, metadata: pairs)
                }
                return try await disks.importFile(file, to: target.disk, clearZeros: !create, parallelism: parallelism, progress: progress)
            }
            bar?.finish()
            global.output.record(["account": target.account, "disk": target.disk, "file": file, "length": summary.length,
                                  "written": summary.written, "zeros": summary.zeros])
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a whole disk into a local file (created or replaced, mode 0600); unwritten ranges stay holes.")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Argument(help: "Local file.") var file: String
        @Option(help: "Calls in flight (1-64).") var parallelism = 4
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try DiskTarget(disk, account)
            let holder = ProgressHolder("export")
            defer { holder.bar?.finish() }
            let summary = try await withDisks(global, target) { disks in
                try await disks.exportFile(target.disk, to: file, parallelism: parallelism) { done, total in holder.update(done, total) }
            }
            holder.bar?.finish()
            holder.bar = nil
            global.output.record(["account": target.account, "disk": target.disk, "file": file, "length": summary.length, "read": summary.read])
        }
    }
}

/// A disk named `ACCOUNT/DISK`, or `DISK` in the account of `--account` / `$ATREST_ACCOUNT`.
struct DiskTarget {
    var account: String
    var disk: String

    init(account: String, disk: String) {
        self.account = account
        self.disk = disk
    }

    init(_ text: String, _ option: AccountOption) throws {
        let (account, disk) = try accountScoped(text, option, kind: "disk")
        self.init(account: account, disk: disk)
    }
}

/// `ACCOUNT/NAME`, or `NAME` in the account of `--account` / `$ATREST_ACCOUNT` (disks, shares).
func accountScoped(_ text: String, _ option: AccountOption, kind: String) throws -> (account: String, name: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    switch parts.count {
    case 1: return (try option.resolved(), text)
    case 2 where !parts[0].isEmpty && !parts[1].isEmpty:
        if let other = option.account, !other.isEmpty, other != parts[0] {
            throw CLIFailure(message: "'\(text)' names account '\(parts[0])' but --account says '\(other)'", exitCode: ExitCodes.usage)
        }
        return (parts[0], parts[1])
    default: throw CLIFailure(message: "name the \(kind) as ACCOUNT/\(kind.uppercased()), not '\(text)'", exitCode: ExitCodes.usage)
    }
}

func withDisks<R>(_ global: GlobalOptions, _ target: DiskTarget, _ body: (DiskClient) async throws -> R) async throws -> R {
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(DiskClient(client, account: target.account))
}

func printDisk(_ disk: DiskProperties, _ target: DiskTarget, _ output: Output, written: UInt64? = nil) {
    if let written {
        output.record(["account": target.account, "disk": disk.disk, "size": disk.size, "written": written,
                       "created": isoTime(disk.createdAtMs), "metadata": metadataText(disk.metadata)])
    } else {
        output.record(["account": target.account, "disk": disk.disk, "size": disk.size, "created": isoTime(disk.createdAtMs),
                       "metadata": metadataText(disk.metadata)])
    }
}

/// Bytes from `512`, `4KiB`, `64MiB`, `10G`, `1TiB`, `5MB` (B, K/KiB, M/MiB, G/GiB, T/TiB binary; KB, MB, GB, TB decimal).
func parseSize(_ text: String, what: String = "--size") throws -> UInt64 {
    let units: [String: UInt64] = [
        "": 1, "B": 1, "K": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MIB": 1 << 20, "G": 1 << 30, "GIB": 1 << 30,
        "T": 1 << 40, "TIB": 1 << 40, "KB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000, "TB": 1_000_000_000_000,
    ]
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
    let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).uppercased()
    guard !digits.isEmpty, let number = UInt64(digits), let scale = units[unit] else {
        throw CLIFailure(message: "\(what) must be a number of bytes with an optional unit (512, 64MiB, 10GiB), not '\(text)'",
                         exitCode: ExitCodes.usage)
    }
    let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
    guard !overflow else { throw CLIFailure(message: "\(what) '\(text)' is too large", exitCode: ExitCodes.usage) }
    return bytes
}
