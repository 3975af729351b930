/// Containers: a backend container per container holding a sealed
/// `container` marker whose metadata name is the container's name (so
/// listing can decrypt it). The marker is what makes a container exist: a
/// backend container without one (a create that crashed half-way) is taken
/// over by the next create of that name.
extension ObjectStore {
    func containerIdentity(_ account: String) -> ObjectIdentity { ObjectIdentity(account: account, container: "", kind: .container) }

    /// Creates the container; `.alreadyExists` if it is there.
    public func createContainer(account: String, name: String, userMetadata: [String: String] = [:], accountKey: AccountKey) async throws {
        try Self.validate(name: name)
        let id = try containerID(account, name, accountKey)
        let exists = StorageError(.alreadyExists, "container '\(name)' already exists in account '\(account)'")
        do {
            try await backend.createContainer(id)
        } catch let error as StorageError where error.code == .alreadyExists {
            if (try? await backend.stat(try Self.marker(id))) != nil { throw exists }
        }
        let metadata = ObjectMetadata(name: name, userMetadata: userMetadata, creationTime: Self.nowMillis())
        let sealed = try ObjectSealing.seal(whole: UnsafeRawBufferPointer(start: nil, count: 0), metadata: metadata,
                                           identity: containerIdentity(account), accountKey: accountKey, expectedHash: nil)
        do {
            try await write(sealed.buffer, to: try Self.marker(id), condition: .mustNotExist)
        } catch let error as StorageError where error.code == .conditionFailed {
            throw exists
        }
    }

    /// Container names of `account`, sorted, decrypted from their markers.
    public func listContainers(account: String, accountKey: AccountKey) async throws -> [String] {
        let accountID = try accountContainer(account, accountKey)
        let entries: [String]
        do {
            entries = try await allNames(in: accountID, prefix: "c-")
        } catch let error as StorageError where error.code == .containerNotFound {
            return []
        }
        var names: [String] = []
        for entry in entries {
            let id = try BackendContainer("\(accountID.id)/\(entry)")
            let marker: StoredObject
            do {
                marker = try await StoredObject.open(backend, try Self.marker(id))
            } catch let error as StorageError where error.code == .notFound || error.code == .containerNotFound {
                continue  // half-created or being deleted
            }
            let reader = try await marker.reader(accountKey: accountKey, context: containerIdentity(account).context)
            guard "c-" + (try accountKey.hashName(["container", reader.metadata.name])) == entry else {
                throw StorageError.integrity("container marker in \(entry) belongs to another container (spliced)")
            }
            names.append(reader.metadata.name)
        }
        return names.sorted()
    }

    /// Deletes an empty container (staged and left-over blocks go with it).
    public func deleteContainer(account: String, name: String, accountKey: AccountKey) async throws {
        let id = try await existingContainer(account, name, accountKey)
        let entries = try await allNames(in: id)
        guard !entries.contains(where: { $0.hasPrefix("o-") }) else {
            throw StorageError(.invalidArgument, "container '\(name)' is not empty; delete its objects first")
        }
        // The marker first: from here on the container does not exist for any
        // call (other stores may still have it cached: `ContainerCache`).
        containers.remove(id)
        try await backend.delete(try Self.marker(id), condition: .none)
        for entry in entries where entry != "container" { try? await backend.delete(try BackendName(id, entry), condition: .none) }
        try await backend.deleteContainer(id)
    }
}
