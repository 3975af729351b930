import ArgumentParser
import AtRestClient
import AtRestLocalState
import AtRestWire
import Foundation

/// `atrest file put|get|ls|mkdir|rm|mv|show`.
struct FileCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "file", abstract: "Files and directories in a share (`atrest share`).",
        discussion: "A file or directory is named ACCOUNT/SHARE/PATH (ACCOUNT/SHARE alone: the share's root). Path components are "
            + "1-255 bytes of UTF-8, not . or .., without NUL; a path is at most 4096 bytes.",
        subcommands: [Put.self, Get.self, List.self, MakeDirectory.self, Remove.self, Move.self, Show.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a local file into a share (as PATH, or into PATH when it is a directory); all-zero 4 MiB blocks are not sent.")
        @Argument(help: "Local file.") var file: String
        @Argument(help: "ACCOUNT/SHARE/PATH.") var target: String
        @Flag(help: "Replace a file that exists at PATH (else the put fails).") var overwrite = false
        @Option(help: "Calls in flight (1-64).") var parallelism = 4
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            var target = try FileTarget(target)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                  (attributes[.type] as? FileAttributeType) == .typeRegular, let length = (attributes[.size] as? NSNumber)?.uint64Value else {
                throw CLIFailure(message: "cannot read \(file) (a regular file)", exitCode: ExitCodes.usage)
            }
            let bar = ProgressBar.make("put", total: length)
            defer { bar?.finish() }
            let progress = bar?.callback
            let written = try await withFiles(global, target.account) { files in
                if let existing = try? await files.properties(target.share, target.path), existing.isDirectory {
                    target.path = target.appending((file as NSString).lastPathComponent)
                }
                return try await files.uploadFile(file, share: target.share, path: target.path, replace: overwrite, parallelism: parallelism,
                                                  progress: progress)
            }
            bar?.finish()
            global.output.record(["account": target.account, "share": target.share, "path": target.display, "file": file, "length": written])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a file of a share into a local file (created or replaced, mode 0600; into LOCAL when it is a directory).")
        @Argument(help: "ACCOUNT/SHARE/PATH.") var target: String
        @Argument(help: "Local file or directory.") var file: String
        @Option(help: "Calls in flight (1-64).") var parallelism = 4
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try FileTarget(target)
            var local = file
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory), isDirectory.boolValue {
                local = (local as NSString).appendingPathComponent(target.name)
            }
            let holder = ProgressHolder("get")
            defer { holder.bar?.finish() }
            let length = try await withFiles(global, target.account) { files in
                try await files.downloadFile(share: target.share, path: target.path, to: local, parallelism: parallelism) { done, total in
                    holder.update(done, total)
                }
            }
            holder.bar?.finish()
            holder.bar = nil
            global.output.record(["account": target.account, "share": target.share, "path": target.display, "file": local, "length": length])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a directory (sorted by name).", aliases: ["list"])
        @Argument(help: "ACCOUNT/SHARE[/DIR].") var target: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try FileTarget(target)
            let entries = try await withFiles(global, target.account) { try await $0.listAll(target.share, target.path) }
            global.output.table(["name", "kind", "size", "mode", "modified", "metadata"],
                                entries.sorted { $0.name < $1.name }.map {
                                    [$0.name, kindText($0), $0.size, modeText($0.mode), isoTime($0.mtimeMs), metadataText($0.metadata)]
                                })
        }
    }

    struct MakeDirectory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mkdir", abstract: "Create a directory.")
        @Argument(help: "ACCOUNT/SHARE/PATH.") var target: String
        @Flag(name: .customShort("p"), help: "Create missing parents too; an existing directory is no error.") var parents = false
        @Option(help: "Permission bits in octal (default 755).") var mode: String?
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try FileTarget(target), bits = try mode.map { try parseMode($0) } ?? 0o755
            guard !target.components.isEmpty else { throw CLIFailure(message: "name the directory as ACCOUNT/SHARE/PATH", exitCode: ExitCodes.usage) }
            let created = try await withFiles(global, target.account) { files in
                guard parents else { return try await files.createDirectory(target.share, target.path, mode: bits) }
                var made: FileProperties?
                for depth in 1...target.components.count {
                    let path = target.components.prefix(depth).joined(separator: "/")
                    do {
                        made = try await files.createDirectory(target.share, path, mode: bits)
                    } catch let status as RPCStatus where status.code == .alreadyExists {
                        let existing = try await files.properties(target.share, path)
                        guard existing.isDirectory else {
                            throw RPCStatus(.failedPrecondition, "'/\(path)' exists and is not a directory")
                        }
                        made = existing
                    }
                }
                return made!
            }
            global.output.record(["account": target.account, "share": target.share, "path": target.display, "mode": modeText(created.mode)])
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a file, or with -r a directory and all it holds.")
        @Argument(help: "ACCOUNT/SHARE/PATH.") var target: String
        @Flag(name: .customShort("r"), help: "Delete a directory with everything in it.") var recursive = false
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try FileTarget(target)
            guard !target.components.isEmpty else {
                throw CLIFailure(message: "the root of a share cannot be removed: `atrest share delete`", exitCode: ExitCodes.usage)
            }
            try await withFiles(global, target.account) { files in
                let info = try await files.properties(target.share, target.path)
                if info.isDirectory {
                    guard recursive else { throw RPCStatus(.failedPrecondition, "'\(target.display)' is a directory: use -r") }
                    try await files.deleteDirectory(target.share, target.path, recursive: true)
                } else {
                    try await files.deleteFile(target.share, target.path)
                }
            }
            global.output.record(["account": target.account, "share": target.share, "path": target.display, "deleted": true])
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mv", abstract: "Rename or move a file or directory (with its subtree) within a share, atomically.")
        @Argument(help: "ACCOUNT/SHARE/PATH.") var from: String
        @Argument(help: "ACCOUNT/SHARE/PATH in the same share, or /PATH.") var to: String
        @Flag(name: .customLong("no-replace"), help: "Fail when the destination exists (else a file there is replaced).") var noReplace = false
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let source = try FileTarget(from)
            let destination = to.hasPrefix("/") ? FileTarget(account: source.account, share: source.share, path: to) : try FileTarget(to)
            guard destination.account == source.account, destination.share == source.share else {
                throw CLIFailure(message: "mv moves within one share: '\(to)' is not in \(source.account)/\(source.share)", exitCode: ExitCodes.usage)
            }
            try await withFiles(global, source.account) { try await $0.rename(source.share, from: source.path, to: destination.path, replace: !noReplace) }
            global.output.record(["account": source.account, "share": source.share, "from": source.display, "to": destination.display])
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A file's or directory's kind, size, mode, times and metadata.")
        @Argument(help: "ACCOUNT/SHARE[/PATH].") var target: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let target = try FileTarget(target)
            let info = try await withFiles(global, target.account) { try await $0.properties(target.share, target.path) }
            global.output.record(["account": target.account, "share": target.share, "path": target.display, "kind": kindText(info),
                                  "size": info.size, "mode": modeText(info.mode), "changed": isoTime(info.ctimeMs),
                                  "modified": isoTime(info.mtimeMs), "metadata": metadataText(info.metadata)])
        }
    }
}

/// `ACCOUNT/SHARE[/PATH]`: the path within the share ("" for its root).
struct FileTarget {
    var account: String
    var share: String
    var path: String

    init(account: String, share: String, path: String) {
        (self.account, self.share, self.path) = (account, share, path)
    }

    init(_ text: String) throws {
        let parts = SlashPath.split(text, maxSplits: 2, omittingEmpty: false)
        guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw CLIFailure(message: "name it as ACCOUNT/SHARE/PATH (or ACCOUNT/SHARE for the root), not '\(text)'", exitCode: ExitCodes.usage)
        }
        self.init(account: parts[0], share: parts[1], path: parts.count == 3 ? parts[2] : "")
    }

    var components: [String] { SlashPath.split(path) }
    /// The last component ("" for the root).
    var name: String { components.last ?? "" }
    var display: String { "/" + components.joined(separator: "/") }

    func appending(_ name: String) -> String { (components + [name]).joined(separator: "/") }
}

func kindText(_ info: FileProperties) -> String { info.isDirectory ? "directory" : info.isFile ? "file" : "kind \(info.kind)" }

func modeText(_ mode: UInt32) -> String { String(format: "%04o", mode) }

/// Octal permission bits, 0 to 7777.
func parseMode(_ text: String) throws -> UInt32 {
    guard let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
        throw CLIFailure(message: "--mode must be octal permission bits 0 to 7777, not '\(text)'", exitCode: ExitCodes.usage)
    }
    return mode
}
