import AtRestCrypto
import AtRestFrontDoor
import AtRestKeyVault
import AtRestLocalState
import AtRestStorage
import AtRestStorageFlags
import AtRestWire

/// The offline walk: every account of the registry, its key unwrapped with
/// the vault's own plug-ins (`OfflineKeyring`), its containers and objects
/// read through the store's own readers (`ObjectStore` on a read-only
/// `LocalBackend`), so every header, name binding, block list and segment
/// tag is checked exactly as the workers check it; then its queues, tables,
/// disks and file shares, every message, entity, chunk and tree record
/// opened on its own (`QueueStore+Recovery`, `TableStore+Recovery`,
/// `DiskStore+Recovery`, `FileStore+Recovery`).
/// One damaged object, record or account is reported and the walk goes on.
struct Recovery: Sendable {
    enum Mode: Sendable { case list, verify, extract }

    let keyring: OfflineKeyring
    let registry: [AccountRecord]
    let damagedRecords: [RegistryReader.Damaged]
    let storage: RecoveryStorage
    let extractor: Extractor?
    let output: RecoveryOutput

    /// Opens everything it reads, refusing (with what to fix) a missing or
    /// wrong root key, a missing directory or an extract directory inside the data.
    static func open(_ sources: RecoverySources, storage options: StorageOptions, output: RecoveryOutput) async throws -> Recovery {
        let vaultKey = try RootKeyFile.resolve(path: sources.vaultRootKeyFile, environmentVariable: "ATREST_VAULT_ROOT_KEY",
                                               mayCreate: false, service: "vault")
        let keyring = try OfflineKeyring(dataDirectory: sources.vaultDirectory, rootKey: vaultKey, pluginDirectory: sources.pluginDirectory)
        let frontDoorKey = try RegistryReader.rootKey(path: sources.frontDoorRootKeyFile)
        let storage = try await RecoveryStorage.open(options, objectsDirectory: sources.objectsDirectory,
                                                     registryDirectory: sources.registryDirectory)
        let (records, damaged) = try await RegistryReader(backend: storage.registry, rootKey: frontDoorKey).records()
        if records.isEmpty, !damaged.isEmpty {
            throw RecoveryRefusal("the front door root key does not open any of the \(damaged.count) registry records in \(storage.registryDescription): wrong key or damaged files")
        }
        let extractor = try sources.extractDirectory.map { directory in
            try Extractor(directory: directory, dataDirectories: [sources.vaultDirectory, sources.registryDirectory, sources.objectsDirectory])
        }
        return Recovery(keyring: keyring, registry: records, damagedRecords: damaged, storage: storage, extractor: extractor, output: output)
    }

    func run(_ mode: Mode, accounts only: [String], shares: [String] = []) async -> RecoverySummary {
        var summary = RecoverySummary()
        for damaged in damagedRecords {
            output.line("damaged registry record \(damaged.name): \(damaged.reason)")
            summary.damaged += 1
        }
        let records = only.isEmpty ? registry : registry.filter { only.contains($0.info.accountID) }
        for missing in only where !records.contains(where: { $0.info.accountID == missing }) {
            output.line("damaged account \(missing): not in the registry")
            summary.damaged += 1
        }
        var opened: Set<String> = []
        for record in records {
            summary.accounts += 1
            if record.info.state == AccountState.purged, record.wrappedKey.isEmpty, record.keys.isEmpty {
                // Deleted and purged (docs/DATA-PATH.md "Deleting an account"): any files left are undecryptable.
                output.line("purged account \(record.info.accountID): its account key was destroyed; nothing to recover")
                continue
            }
            if let id = await recover(record, mode, shares: shares, &summary) { opened.insert(id) }
        }
        if only.isEmpty { await reportUnclaimed(opened, &summary) }
        return summary
    }

    /// Account directories of the store that no registry record opened: their
    /// data is unreadable (a registry restored without them, a record lost).
    private func reportUnclaimed(_ opened: Set<String>, _ summary: inout RecoverySummary) async {
        for (pool, entry) in await storage.accountDirectories() where !opened.contains(Self.key(pool, entry)) {
            output.line("damaged store account \(pool.isEmpty ? "" : pool + "/")\(entry): no registry record opened it (a registry restored without its account, a lost record, or an account above whose key was refused)")
            summary.damaged += 1
        }
    }

    static func key(_ pool: String, _ id: String) -> String { "\(pool)/\(id)" }

    /// Reads one account; returns its pool and store directory once its key opened.
    /// With `shares`, only those file shares of the account are read (nothing else of it).
    private func recover(_ record: AccountRecord, _ mode: Mode, shares: [String], _ summary: inout RecoverySummary) async -> String? {
        let account = record.info.accountID, e = record.info.encryption
        let key: AccountKey
        let pool = record.info.pool.isEmpty ? storage.defaultPool : record.info.pool
        let store: ObjectStore
        do {
            guard let found = storage.stores[pool] else {
                throw RecoveryRefusal("its objects are in pool '\(record.info.pool)', which was not given (--pool)")
            }
            store = found
            let (secret, ref) = try keyring.unwrap(record.wrappedKey, context: AccountWrapContext.bytes(account: account))
            var opened = try AccountKey(key: secret, reference: KeyReference(provider: ref.provider, keyID: ref.keyID, keyVersion: ref.version,
                                                                            accountKeyVersion: e.accountKeyVersion))
            // Older versions of the account's own chain (rotation) and scope keys: every
            // object names its version; names hash under the first version's name key.
            var versions: [AccountKey] = []
            var first = (version: max(1, e.accountKeyVersion), secret: secret)
            var namesOnly: SecretBytes?
            for entry in record.keys where !entry.infrastructure {
                let (other, otherRef) = try keyring.unwrap(entry.wrappedKey, context: AccountWrapContext.bytes(account: account))
                if entry.namesOnly { namesOnly = other; continue }
                versions.append(try AccountKey(key: other, reference: KeyReference(provider: otherRef.provider, keyID: otherRef.keyID,
                                                                                  keyVersion: otherRef.version,
                                                                                  accountKeyVersion: entry.accountKeyVersion)))
                if entry.isOwnChain, entry.accountKeyVersion < first.version { first = (entry.accountKeyVersion, other) }
            }
            if !versions.isEmpty || namesOnly != nil {
                opened = try opened.renamed(nameKey: try namesOnly ?? AccountKey.nameKey(derivedFrom: first.secret)).adding(versions)
            }
            if let infrastructure = record.keys.first(where: \.infrastructure) {
                // Infrastructure encryption: the second layer's key, wrapped in its own chain (docs/FORMAT.md).
                let (inner, _) = try keyring.unwrap(infrastructure.wrappedKey, context: AccountWrapContext.bytes(account: account))
                opened = opened.withInfrastructure(try InfrastructureKey(key: inner, accountKeyVersion: infrastructure.accountKeyVersion))
            }
            key = opened
            output.line("account \(account) key \(ref.provider)/\(ref.keyID) version \(ref.version) account-key-version \(e.accountKeyVersion)")
        } catch {
            output.line("damaged account \(account): \(RecoveryOutput.message(error))")
            summary.damaged += 1
            return nil
        }
        let id = (try? store.accountContainerID(account: account, accountKey: key)).map { Self.key(pool, $0) }
        if shares.isEmpty {
            await recoverContainers(account, key, store, mode, &summary)
            await recoverQueues(account, key, QueueStore(backend: store.backend), mode, &summary)
            await recoverTables(account, key, TableStore(backend: store.backend), mode, &summary)
            await recoverDisks(account, key, DiskStore(backend: store.backend), mode, &summary)
        }
        await recoverFiles(account, key, FileStore(backend: store.backend), mode, only: shares, &summary)
        return id
    }

    private func recoverContainers(_ account: String, _ key: AccountKey, _ store: ObjectStore, _ mode: Mode,
                                   _ summary: inout RecoverySummary) async {
        let containers: [String]
        do {
            containers = try await store.listContainers(account: account, accountKey: key)
        } catch {
            output.line("damaged account \(account): its containers cannot be listed: \(RecoveryOutput.message(error))")
            summary.damaged += 1
            return
        }
        for container in containers {
            summary.containers += 1
            output.line("container \(account)/\(container)")
            await recover(account, container, key, store, mode, &summary)
        }
    }

    private func recover(_ account: String, _ container: String, _ key: AccountKey, _ store: ObjectStore, _ mode: Mode,
                         _ summary: inout RecoverySummary) async {
        var pageToken: String?
        repeat {
            let page: ObjectListing
            do {
                page = try await store.list(account: account, container: container, pageToken: pageToken, accountKey: key)
            } catch {
                output.line("damaged container \(account)/\(container): cannot be listed: \(RecoveryOutput.message(error))")
                summary.damaged += 1
                return
            }
            for id in page.damaged {
                summary.objects += 1
                summary.damaged += 1
                output.line("damaged \(account)/\(container)/o-\(id): its header does not authenticate (name unknown)")
            }
            for object in page.objects {
                summary.objects += 1
                let path = "\(account)/\(container)/\(object.name)"
                guard mode != .list else {
                    output.line("blob \(path) length=\(object.length)")
                    continue
                }
                do {
                    let bytes = try await read(account, container, object.name, key, store)
                    summary.bytes += bytes
                    output.line("good \(path) bytes=\(bytes)")
                } catch {
                    summary.damaged += 1
                    output.line("damaged \(path): \(RecoveryOutput.message(error))")
                }
            }
            pageToken = page.nextPageToken
        } while pageToken != nil
    }

    /// Reads the whole object (every tag checked); with an extractor, into
    /// its file, which is removed again when the object turns out damaged.
    private func read(_ account: String, _ container: String, _ name: String, _ key: AccountKey, _ store: ObjectStore) async throws -> UInt64 {
        var count: UInt64 = 0
        let file = try extractor?.create(account: account, container: container, name: name)
        do {
            try await store.read(account: account, container: container, name: name, accountKey: key) { bytes in
                try file?.write(bytes)
                count += UInt64(bytes.count)
            }
            try file?.finish()
        } catch {
            file?.discard()
            throw error
        }
        return count
    }
}

/// A reason `atrest-recover` cannot go on (or cannot read one account).
struct RecoveryRefusal: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
