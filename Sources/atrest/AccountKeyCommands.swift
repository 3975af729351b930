import ArgumentParser
import AtRestClient
import AtRestWire

extension AccountCommands {
    /// `atrest account rotate-key ACCOUNT`.
    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Give the account a new account key version (owner); new writes use it, older objects stay readable.",
            discussion: "The vault generates the new key under the account's current KEK. Objects written before keep their version (recorded in their header) until `atrest account reencrypt` rewrites them.")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printEncryption(account, try await withAccounts(global) { try await $0.rotateKey(account) }, global.output)
        }
    }
}

extension AccountCommands {
    /// `atrest account reencrypt ACCOUNT [--container C]`.
    struct Reencrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite every blob of the account (or of one container) under its current account key version (owner).",
            discussion: "Runs page by page (Blob/Reencrypt); each object is replaced only if it is still the version that was read, so a concurrent write wins. Interrupted, it can simply be run again: objects already under the current version are skipped. Progress goes to stderr.")
        @Argument(help: "Account id.") var account: String
        @Option(help: "Only this container (default: every container of the account).") var container: String?
        @Option(help: "Objects per page (1-1000).") var pageSize: UInt32 = 100
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            guard (1...1000).contains(pageSize) else { throw ValidationError("--page-size must be 1-1000") }
        }

        func run() async throws {
            var options = AccountOption()
            options.account = account
            let total = try await withBlobs(global, options) { blobs in
                var total = BlobReencryptResponse()
                var containers = container.map { [$0] } ?? []
                if container == nil { containers = try await blobs.listContainers() }
                let started = ContinuousClock.now
                for name in containers {
                    var token = ""
                    repeat {
                        let page = try await blobs.reencrypt(name, pageToken: token, maxObjects: pageSize)
                        total.objects += page.objects
                        total.rewritten += page.rewritten
                        total.bytes += page.bytes
                        total.raced += page.raced
                        total.skipped += page.skipped
                        total.accountKeyVersion = page.accountKeyVersion
                        token = page.nextPageToken
                        let seconds = Double((ContinuousClock.now - started).components.seconds)
                        global.output.note("\(name): \(total.objects) objects looked at, \(total.rewritten) rewritten (\(total.bytes) bytes, "
                                           + "\(seconds > 0 ? Int(Double(total.bytes) / seconds) : 0) bytes/s)")
                    } while !token.isEmpty
                }
                return total
            }
            global.output.record([
                "account": account, "accountKeyVersion": total.accountKeyVersion, "objects": total.objects, "rewritten": total.rewritten,
                "bytes": total.bytes, "raced": total.raced, "skipped": total.skipped,
            ])
        }
    }
}
