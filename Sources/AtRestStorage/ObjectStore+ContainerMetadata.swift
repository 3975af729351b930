/// What a container's sealed marker holds besides its name (e.g. its default
/// encryption scope: `createContainer(userMetadata:)`).
extension ObjectStore {
    /// The user metadata sealed in container `name`'s marker; `.containerNotFound` without one.
    public func containerMetadata(account: String, name: String, accountKey: AccountKey) async throws -> [String: String] {
        let id = try containerID(account, name, accountKey)
        let marker: StoredObject
        do {
            marker = try await StoredObject.open(backend, try Self.marker(id))
        } catch let error as StorageError where error.code == .notFound || error.code == .containerNotFound {
            throw Self.noContainer(account, name)
        }
        let reader = try await marker.reader(accountKey: accountKey, context: containerIdentity(account).context)
        guard reader.metadata.name == name else {
            throw StorageError.integrity("container marker of '\(name)' belongs to another container (spliced)")
        }
        containers.insert(id)
        return reader.metadata.userMetadata
    }
}
