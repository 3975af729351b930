extension StorageBackend {
    /// Every record of `map` in key order, read a page at a time; nil when the map does not exist.
    func allRecords(_ map: RecordMapName) async throws -> [Record]? {
        var records: [Record] = [], after: String?
        repeat {
            let page: RecordPage
            do {
                page = try await self.records(map, after: after, limit: 1000)
            } catch let error as StorageError where error.code == .notFound {
                return nil
            }
            records += page.records
            after = page.more ? page.records.last?.key : nil
        } while after != nil
        return records
    }
}
