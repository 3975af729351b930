import AtRestCrypto

/// A file's data (placeholder until the chunk engine is merged).
extension FileStore {
    struct PendingData {
        func write(at offset: UInt64, _ bytes: [UInt8]) async throws { throw StorageError(.io, "no chunk engine yet") }
        func read(at offset: UInt64, length: Int) async throws -> [UInt8] { throw StorageError(.io, "no chunk engine yet") }
        func clear(at offset: UInt64, length: UInt64) async throws { throw StorageError(.io, "no chunk engine yet") }
    }
    func data(_ s: Share, _ node: Node, _ key: AccountKey) -> PendingData { PendingData() }
    func deleteData(_ s: Share, _ dataID: [UInt8], size: UInt64, _ key: AccountKey) async throws {}
}
