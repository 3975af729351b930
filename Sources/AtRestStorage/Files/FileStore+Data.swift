import AtRestCrypto

/// A file's data: the chunk engine shared with disks (`ChunkedData`,
/// geometry `.file`: 64 KiB chunks in `fc-<data id>-<region>` maps).
extension FileStore {
    /// The chunk engine on the data of file `inode`. A missing region map
    /// (reads as zeros, or a write makes it) makes the engine check that
    /// the file is still there with this data id: `.notFound` otherwise, so
    /// no map is left behind by a write racing the file's delete.
    func data(_ s: Share, _ inode: [UInt8], _ dataID: [UInt8], _ key: AccountKey) -> ChunkedData {
        ChunkedData(backend: backend, geometry: .file, account: s.account, id: dataID, container: s.container, accountKey: key) { _ in
            guard let node = try await self.node(inode, s, key), node.record.dataID == dataID else {
                throw StorageError(.notFound, "the file was deleted from share '\(s.name)' meanwhile")
            }
        }
    }

    func data(_ s: Share, _ node: Node, _ key: AccountKey) -> ChunkedData { data(s, node.id, node.record.dataID, key) }

    /// Deletes every region map of data `dataID` that a file of `size` bytes spans (missing ones are fine).
    func deleteData(_ s: Share, _ dataID: [UInt8], size: UInt64, _ key: AccountKey) async throws {
        let data = ChunkedData(backend: backend, geometry: .file, account: s.account, id: dataID, container: s.container, accountKey: key) { _ in }
        try await data.deleteAll(size: size)
    }

    /// Region map `region` of data `dataID` (tests, recovery).
    static func dataMap(_ s: Share, _ dataID: [UInt8], _ region: UInt64) throws -> RecordMapName {
        try ChunkedData.map(region, of: Hex.encode(dataID), in: s.container, .file)
    }
}
