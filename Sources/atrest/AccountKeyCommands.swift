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
    /// `atrest account reencrypt ACCOUNT [--container C] [--wait]`.
    struct Reencrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a job that rewrites every blob, queue message, table entity, disk page and file of the account (or the blobs of one container) under its current account key version (owner).",
            discussion: "The front door runs the job in the background (page by page through the workers; started within --max-call-time + 4 s of the rotation, it first waits out the calls admitted under the previous version) and records its progress in the account registry: a front door restarted resumes it. It goes through the containers' blobs first, then (over the whole account) the records of queues, tables, disks and shares, resealing each under the current version with its content, ids, pop receipts and ETags unchanged. Each object or record is replaced only if it is still the version that was read, so a concurrent write wins. Returns at once; `atrest job show ACCOUNT` shows the progress, `atrest job cancel ACCOUNT` stops it, --wait follows it here (progress on stderr) until it ends. Afterwards `atrest account retire-versions ACCOUNT` deletes the older versions' wrapped keys.")
        @Argument(help: "Account id.") var account: String
        @Option(help: "Only this container (default: every container of the account).") var container: String?
        @Option(help: "Blobs per page (1-1000; records of queues, tables, disks and shares: 10 times as many); each page is one registry write.") var pageSize: UInt32 = 100
        @Flag(help: "Follow the job until it completes, fails or is cancelled (exit 6 unless it completed).") var wait = false
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            guard (1...1000).contains(pageSize) else { throw ValidationError("--page-size must be 1-1000") }
        }

        func run() async throws {
            let job = try await withAccounts(global) { accounts in
                var job = try await accounts.startReencrypt(account, container: container ?? "", pageSize: pageSize)
                while wait && job.isRunning {
                    try await Task.sleep(for: .seconds(1))
                    job = try await accounts.job(account)
                    global.output.note(jobSummary(job))
                }
                return job
            }
            printJob(account, job, global.output)
            if wait, job.state != ReencryptJob.completed {
                throw RPCStatus(.failedPrecondition, "the re-encryption job of '\(account)' ended \(job.state): \(job.message)")
            }
        }
    }

    /// `atrest account retire-versions ACCOUNT`.
    struct RetireVersions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire-versions",
            abstract: "Delete the wrapped keys of account key versions nothing of the account uses any more (owner).",
            discussion: "Allowed after a re-encryption job over the whole account completed: the versions older than the job's are retired (their wrapped keys deleted from the registry; the account's name key is kept, wrapped, if it came from one of them). Refused before, while a job runs, after a job that skipped blobs, and while the account holds queues, tables, disks or shares that the completed job did not go through (a job completed by an older build covered blobs only).")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            printAccount(try await withAccounts(global) { try await $0.retireVersions(account) }, global.output)
        }
    }
}

/// `atrest job show|cancel ACCOUNT`: an account's re-encryption job.
struct JobCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "An account's background re-encryption job (started by `atrest account reencrypt`).",
        subcommands: [Show.self, Cancel.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the job: state, objects done/total, bytes, estimated time left.")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws { printJob(account, try await withAccounts(global) { try await $0.job(account) }, global.output) }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel the running job (owner); blobs and records already rewritten stay so, the rest keep their version.")
        @Argument(help: "Account id.") var account: String
        @OptionGroup var global: GlobalOptions
        func run() async throws { printJob(account, try await withAccounts(global) { try await $0.cancelJob(account) }, global.output) }
    }
}

func printJob(_ account: String, _ job: ReencryptJob, _ output: Output) {
    // Absent fields (nil) are left out; a whole-account job's record counters only when it walks record kinds.
    func optional<T>(_ present: Bool, _ value: @autoclosure () -> T) -> Any { present ? value() as Any : T?.none as Any }
    let records = !job.kinds.isEmpty
    output.record([
        "account": account, "job": job.jobID, "state": job.state, "container": job.container.isEmpty ? "(all)" : job.container,
        "accountKeyVersion": job.accountKeyVersion, "objectsDone": job.objectsDone, "objectsTotal": job.objectsTotal,
        "bytesDone": job.bytesDone, "bytesTotal": job.bytesTotal, "rewritten": job.rewritten, "raced": job.raced, "skipped": job.skipped,
        "kinds": optional(records, job.kinds.joined(separator: ",")), "kindsDone": optional(records, job.coveredKinds.joined(separator: ",")),
        "recordsDone": optional(records, job.recordsDone), "recordsRewritten": optional(records, job.recordsRewritten),
        "recordBytes": optional(records, job.recordBytes), "recordsRaced": optional(records, job.recordsRaced),
        "startedAt": isoTime(seconds: job.startedAtUnix), "updatedAt": isoTime(seconds: job.updatedAtUnix),
        "finishedAt": optional(job.finishedAtUnix != 0, isoTime(seconds: job.finishedAtUnix)),
        "etaSeconds": optional(job.isRunning, job.etaSeconds), "startedBy": job.startedBy,
        "message": optional(!job.message.isEmpty, job.message),
    ])
}

/// "running: 12/41 blobs, 1234/99999 bytes, ETA 30 s".
func jobSummary(_ job: ReencryptJob) -> String {
    var text = "\(job.state): \(min(job.objectsDone, max(job.objectsTotal, job.objectsDone)))/\(job.objectsTotal) blobs, "
        + "\(job.bytesDone)/\(job.bytesTotal) bytes, \(job.rewritten) rewritten"
        + (job.kinds.isEmpty ? "" : "; \(job.recordsDone) records, \(job.recordsRewritten) resealed, kinds done \(job.coveredKinds.count)/\(job.kinds.count)")
        + " (job \(job.jobID), version \(job.accountKeyVersion))"
    if job.isRunning, job.etaSeconds > 0 { text += ", ETA \(job.etaSeconds) s" }
    if !job.message.isEmpty { text += ": \(job.message)" }
    return text
}
