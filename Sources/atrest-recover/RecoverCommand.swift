import ArgumentParser
import AtRestCrypto
import AtRestFrontDoor
import AtRestKeyVault
import AtRestLocalState
import AtRestServiceKit
import AtRestStorage
import AtRestStorageFlags
import Foundation

/// `atrest-recover`: offline disaster recovery from the root keys and the
/// data directories, with no AtRest service running (docs/OPERATIONS.md
/// "Offline recovery"). Lists, verifies or extracts every account's
/// containers and blobs, queues, tables, disks and file shares; reads only, never writes into the data.
///
/// A separate executable, not `atrest admin recover`: the CLI is a client
/// that links no service implementation and no storage (PackageGraphTests),
/// while recovery must read the vault's provider state, the front door's
/// registry and the object store itself.
@main
struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest-recover",
        abstract: "Offline recovery: list, verify or extract every account's blobs, queues, tables, disks and file shares from the root keys and the data directories.",
        discussion: "Exit status: 0 everything read and verified, 1 cannot start (a key or directory missing or wrong), 3 damaged objects or accounts found.")

    @Option(help: "The vault's data directory (providers/*.state).") var vaultDir: String
    @Option(help: "The vault root key file (64 hex; default <vault-dir>/root.key; $ATREST_VAULT_ROOT_KEY wins).") var vaultRootKeyFile: String?
    @Option(help: "The front door's data directory (registry.key, registry-store/).") var frontdoorDir: String
    @Option(help: "The front door root key file (default <frontdoor-dir>/registry.key; $ATREST_FRONTDOOR_ROOT_KEY wins).") var frontdoorRootKeyFile: String?
    @Option(help: "local: the account registry's backend directory (default <frontdoor-dir>/registry-store; rados: the registry is in the first --pool).") var registryStore: String?
    @OptionGroup var storage: StorageOptions
    @Option(help: "local: the workers' object store directory (their --data-dir).") var dataDir = ""
    @Option(help: "Where the provider plug-ins are (default: $ATREST_BIN_DIR, else next to this executable).") var pluginDir: String?
    @Option(help: "Only this account (repeatable; default: every account).") var account: [String] = []
    @Option(help: "Only this file share of the selected accounts, and nothing else of them: no containers, queues, tables or disks (repeatable).") var share: [String] = []
    @Flag(help: "Read every object, message, entity, disk chunk and file chunk of every account, checking every tag; print each good or damaged and a summary.") var verify = false
    @Option(help: "Verify, and write every good blob's plaintext to DIR/<account>/<container>/<name, %-encoded>, messages to DIR/<account>/.queues/, tables to DIR/<account>/.tables/<table>.jsonl, disks to DIR/<account>/.disks/<disk>.img, file shares to DIR/<account>/.files/<share>/<path> (DIR must not be inside the data).") var extract: String?

    func validate() throws {
        if try storage.validated(dataDirectory: dataDir.isEmpty ? "-" : dataDir).kind == .local, dataDir.isEmpty {
            throw ValidationError("--data-dir is required with --backend local (the workers' object store directory)")
        }
    }

    func run() async throws {
        ProcessStart.applyCryptoPolicy("atrest-recover")
        let output = RecoveryOutput()
        let recovery: Recovery
        do {
            recovery = try await Recovery.open(RecoverySources(
                vaultDirectory: vaultDir, vaultRootKeyFile: vaultRootKeyFile ?? "\(vaultDir)/root.key",
                frontDoorRootKeyFile: frontdoorRootKeyFile ?? "\(frontdoorDir)/registry.key",
                registryDirectory: registryStore ?? "\(frontdoorDir)/registry-store", objectsDirectory: dataDir,
                pluginDirectory: pluginDir, extractDirectory: extract), storage: storage, output: output)
        } catch {
            output.refuse(error)
            throw ExitCode(1)
        }
        let mode: Recovery.Mode = extract != nil ? .extract : verify ? .verify : .list
        let summary = await recovery.run(mode, accounts: account, shares: share)
        output.summary(summary, mode: mode)
        if summary.damaged > 0 { throw ExitCode(3) }
    }
}
