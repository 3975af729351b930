import ArgumentParser
import AtRestFUSE
import AtRestFileMount
import AtRestNBDGateway
import AtRestRuntime
import AtRestServiceKit
import Foundation
import Glibc
import Logging

/// `atrest mount ACCOUNT/SHARE DIR`: a file share as a directory through
/// FUSE (AtRestFileMount; docs/OPERATIONS.md "Mounting a share"). Prints
/// `ready atrest-mount mountpoint=<dir> share=<account>/<share> pid=<pid>`
/// once mounted; serves until unmounted (`atrest unmount DIR`,
/// `fusermount3 -u`) or SIGTERM/SIGINT, which write back what open files
/// hold and unmount. With `--user` the token is renewed as `atrest disk
/// serve --user` renews it.
struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount", abstract: "Mount a file share on an empty directory (FUSE) until unmounted or Ctrl-C.")

    @Argument(help: "ACCOUNT/SHARE (or SHARE with --account).") var share: String
    @Argument(help: "The empty directory to mount it on.") var directory: String
    @Flag(help: "Detach once mounted: print the ready line (with the serving process's pid) and exit 0.") var background = false
    @Option(help: "Page cache of the mount (64MiB, 1GiB, ...; at least 256KiB).") var cacheSize = "64MiB"
    @Option(help: "Seconds one call to the service may take before the kernel gets EIO.") var callTimeout: Double = ShareFileSystem.defaultCallTimeout
    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Let the kernel keep a file's cached pages from one open to the next when the service has the file unchanged.",
        discussion: "With --no-kernel-cache every open drops them, so an open also sees writes other clients made to the file without flushing it."))
    var kernelCache = true
    @Option(help: ArgumentHelp(
        "Seconds a directory's listing answers lookups of names not in it without a call (0-60; 0: every lookup asks the service).",
        discussion: "A name another client creates in a directory this mount listed or made may read as missing here for up to that long."))
    var listingTimeout: Double = ShareFileSystem.defaultListingTimeout
    @Flag(help: "Let users other than the one mounting use the mount (as a user: user_allow_other in /etc/fuse.conf).") var allowOther = false
    @OptionGroup var login: GatewayLoginOptions
    @OptionGroup var account: AccountOption
    @OptionGroup var global: GlobalOptions
    @OptionGroup var observability: ObservabilityOptions

    func validate() throws {
        guard callTimeout >= 1, callTimeout <= 3600 else { throw ValidationError("--call-timeout must be 1-3600 s") }
        guard listingTimeout >= 0, listingTimeout <= 60 else { throw ValidationError("--listing-timeout must be 0-60 s") }
    }

    func run() async throws {
        let cacheBytes = try parseSize(cacheSize, what: "--cache-size")
        guard cacheBytes >= 256 << 10, cacheBytes <= 1 << 40 else {
            throw CLIFailure(message: "--cache-size must be 256KiB to 1TiB, not \(cacheSize)", exitCode: ExitCodes.usage)
        }
        let target = try accountScoped(share, account, kind: "share")
        if background && !FUSEBackground.isChild {
            let status = try FUSEBackground.start()
            if status != 0 { throw ExitCode(status) }
            return
        }
        EarlySignals.catchTermination()
        ProcessStart.observe("atrest-mount", logLevel: nil, observability)
        FUSEBackground.enterOwnSession()
        let config = try global.loadConfig()
        let session = try await login.session(config, global)
        defer { session.close() }
        let service = ShareFileClient(account: target.account, share: target.name, session: session)
        _ = try await service.stat("")  // the share exists and the token may read it
        let fileSystem = ShareFileSystem(service: service, cacheSize: Int(cacheBytes), callTimeout: callTimeout,
                                         kernelCache: kernelCache, listingTimeout: listingTimeout)
        var options = FUSEMountOptions()
        options.fsName = "atrest:\(service.shareName)"
        options.subtype = "atrest"
        options.allowOther = allowOther
        let mount = FUSEMount(fileSystem, at: directory, options: options)
        do {
            try mount.mount()
        } catch let failure as FUSEError {
            throw CLIFailure(message: "cannot mount \(service.shareName) on \(directory): \(failure)", exitCode: ExitCodes.usage)
        }
        FUSEBackground.detachOutput()
        let logger = Logger(label: "atrest.mount")
        // Ready once mounted (the share was reached above); /metrics has the process figures.
        let metrics = try observability.metricsServer(logger: logger)
        try await ServiceMain.run(
            [ShareMount(mount: mount, fileSystem: fileSystem)] + metrics.services,
            ready: "ready atrest-mount mountpoint=\(mount.mountpoint) share=\(service.shareName) pid=\(getpid())" + metrics.readyField, logger: logger)
    }
}

/// `atrest unmount DIR`: unmounts a mount of `atrest mount` (fusermount3 -u;
/// refused while files are open on it, unless `--lazy`).
struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmount", abstract: "Unmount a share mounted with `atrest mount`.")

    @Argument(help: "The mount point.") var directory: String
    @Flag(help: "Detach now even with files open (they fail with ENOTCONN once the mount ends).") var lazy = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let path = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard FUSEMount.isMounted(path) else {
            throw CLIFailure(message: "\(path) is not a mount point", exitCode: ExitCodes.usage)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: access("/usr/bin/fusermount3", X_OK) == 0 ? "/usr/bin/fusermount3" : "/bin/fusermount3")
        process.arguments = (lazy ? ["-u", "-z"] : ["-u"]) + [path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIFailure(message: "fusermount3 -u \(path) failed (status \(process.terminationStatus)); files open on it? (--lazy)",
                             exitCode: ExitCodes.other)
        }
    }
}
