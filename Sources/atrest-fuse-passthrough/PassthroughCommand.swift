import ArgumentParser
import AtRestFUSE
import AtRestFUSEPassthrough
import AtRestRuntime
import Foundation
import Logging

/// `atrest-fuse-passthrough SOURCE MOUNTPOINT`: mounts a local directory
/// through FUSE, unchanged (docs/OPERATIONS.md "FUSE passthrough"): the
/// baseline of the files benchmark and the FUSE wrapper's tests. Prints
/// `ready atrest-fuse-passthrough mountpoint=<dir> source=<dir> pid=<pid>`
/// once mounted; unmounts on SIGTERM/SIGINT and exits 0, or exits 0 when
/// unmounted from outside (`fusermount3 -u`).
@main
struct PassthroughCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-fuse-passthrough", abstract: "Mount a local directory through FUSE, unchanged (the FUSE baseline).")

    @Argument(help: "The directory to serve.") var source: String
    @Argument(help: "The empty directory to mount it on.") var mountpoint: String
    @Flag(help: "Detach once mounted: print the ready line (with the serving process's pid) and exit 0.") var background = false
    @Flag(help: "Mount over a directory that has entries.") var allowNonEmpty = false
    @Flag(help: "Let users other than the one mounting use the mount (as a user: user_allow_other in /etc/fuse.conf).") var allowOther = false
    @Flag(help: "Mount read-only.") var readOnly = false
    @Flag(help: "Let the kernel keep a file's cached pages from one open to the next when the local file did not change (what atrest mount does).")
    var kernelCache = false
    @Flag(help: "Do not let the kernel check permission bits (the source's own checks still apply).") var noDefaultPermissions = false
    @Option(help: "Seconds the kernel caches attributes.") var attrTimeout: Double = 1
    @Option(help: "Seconds the kernel caches names.") var entryTimeout: Double = 1
    @Option(help: "Seconds the kernel caches 'no such name' answers.") var negativeTimeout: Double = 0
    @Option(help: "Largest write the kernel sends, in bytes (4096-1048576).") var maxWrite = 1 << 20
    @Option(help: "Log level.") var logLevel: String?

    func validate() throws {
        for (name, value) in [("--attr-timeout", attrTimeout), ("--entry-timeout", entryTimeout), ("--negative-timeout", negativeTimeout)] {
            guard value >= 0, value <= 86_400 else { throw ValidationError("\(name) must be 0-86400 s") }
        }
        guard (4096...(1 << 20)).contains(maxWrite) else { throw ValidationError("--max-write must be 4096-1048576") }
    }

    func run() async throws {
        EarlySignals.catchTermination()
        LogSetup.bootstrap(level: logLevel)
        if background && !FUSEBackground.isChild {
            let status = try FUSEBackground.start()
            if status != 0 { throw ExitCode(status) }
            return
        }
        FUSEBackground.enterOwnSession()
        var options = FUSEMountOptions()
        options.fsName = "atrest-passthrough"
        options.subtype = "atrest-passthrough"
        options.allowNonEmpty = allowNonEmpty
        options.allowOther = allowOther
        options.readOnly = readOnly
        options.defaultPermissions = !noDefaultPermissions
        options.attributeTimeout = attrTimeout
        options.entryTimeout = entryTimeout
        options.negativeTimeout = negativeTimeout
        options.maxWrite = maxWrite
        let logger = Logger(label: "atrest.fuse-passthrough")
        let mount: FUSEMount
        do {
            mount = FUSEMount(try PassthroughFileSystem(root: source, kernelCache: kernelCache), at: mountpoint, options: options)
            try mount.mount()
        } catch {
            FileHandle.standardError.write(Data("atrest-fuse-passthrough: \(error)\n".utf8))
            throw ExitCode(1)
        }
        FUSEBackground.detachOutput()
        let resolvedSource = URL(fileURLWithPath: source).standardizedFileURL.path
        try await ServiceMain.run(
            [mount], ready: "ready atrest-fuse-passthrough mountpoint=\(mount.mountpoint) source=\(resolvedSource) pid=\(getpid())",
            logger: logger)
        logger.info("unmounted \(mount.mountpoint)")
    }
}
