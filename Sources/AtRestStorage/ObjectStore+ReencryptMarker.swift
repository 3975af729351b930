/// The container marker (its sealed name and metadata) is sealed under the
/// version current when the container was created; re-encryption moves it
/// too, or retiring that version would make the container unlistable.
extension ObjectStore {
    /// Reseals `container`'s marker under `accountKey`'s current version when
    /// it is under a version in `migrating` (nil: any other); published only
    /// if the marker is still the one read (a concurrent change wins, and the
    /// next run moves it). Returns whether it was rewritten.
    func reencryptMarker(account: String, container: String, migrating: Set<UInt32>?, accountKey: AccountKey) async throws -> Bool {
        let id = try await existingContainer(account, container, accountKey)
        let name = try Self.marker(id)
        let identity = containerIdentity(account)
        let marker: StoredObject
        do { marker = try await StoredObject.open(backend, name) } catch let error as StorageError where error.code == .notFound { return false }
        let reader = try await marker.reader(accountKey: accountKey, context: identity.context)
        let version = reader.header.keyReference.accountKeyVersion
        guard version != accountKey.reference.accountKeyVersion, migrating?.contains(version) ?? true else { return false }
        let sealed = try ObjectSealing.seal(whole: UnsafeRawBufferPointer(start: nil, count: 0), metadata: reader.metadata,
                                           identity: identity, accountKey: accountKey, expectedHash: nil)
        do {
            try await write(sealed.buffer, to: name, condition: .mustMatch(marker.version))
        } catch let error as StorageError where error.code == .conditionFailed || error.code == .notFound {
            return false
        }
        return true
    }
}
