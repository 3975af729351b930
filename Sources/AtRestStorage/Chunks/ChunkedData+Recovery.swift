import AtRestCrypto

/// Offline recovery: every stored chunk, each opened on its own.
extension ChunkedData {
    /// A stored chunk (where it starts, its bytes), or a record that does
    /// not open (`<region, 4 hex>/<record key>` and why).
    enum Recovered {
        case chunk(offset: UInt64, bytes: [UInt8])
        case damaged(key: String, error: any Error)
    }

    /// Every chunk stored in the regions of an object of `size` bytes
    /// (`what`: "disk", "file", for the reasons), by offset; `each` gets
    /// every chunk or damaged record in turn. A record whose key is not a
    /// chunk of its region, or a chunk wholly beyond `size`, is damaged
    /// (skipped instead with `skippingBeyondEnd`: a file's write that
    /// extends it sets its chunks before the inode's size, so a crash
    /// between leaves chunks past the end that no read ever returns).
    /// A chunk that refers to an extent is read from it (one extent read per
    /// such chunk: recovery is not fast, it is thorough). Reads only; a
    /// missing region or chunk holds zeros.
    func recover(size: UInt64, _ what: String, skippingBeyondEnd: Bool = false, _ each: (Recovered) async throws -> Void) async throws {
        let perRegion = geometry.chunksPerRegion, chunkSize = geometry.chunkSize
        for region in 0..<geometry.regions(size) {
            let map = try self.map(region)
            let chunks = region * perRegion..<(region + 1) * perRegion
            var after: String?
            repeat {
                let page: RecordPage
                do {
                    page = try await backend.records(map, after: after, limit: 1000)
                } catch let error as StorageError where error.code == .notFound {
                    break  // never written: zeros
                }
                for record in page.records {
                    // An extent's marker: its chunks are read through their references.
                    if Self.markerID(ofKey: record.key) != nil { continue }
                    if skippingBeyondEnd, let chunk = Self.chunkIndex(ofKey: record.key), chunks.contains(chunk), chunk * chunkSize >= size {
                        continue
                    }
                    let opened: Recovered
                    do {
                        guard let chunk = Self.chunkIndex(ofKey: record.key), chunks.contains(chunk) else {
                            throw StorageError.integrity("the record key is not a chunk of this region")
                        }
                        guard chunk * chunkSize < size else { throw StorageError.integrity("the chunk lies beyond the \(what)'s end") }
                        switch try stored(record.value, map, record.key) {
                        case .bytes(let bytes): opened = .chunk(offset: chunk * chunkSize, bytes: bytes)
                        case .extent(let id): opened = .chunk(offset: chunk * chunkSize, bytes: try await readExtent(id, chunks: chunk..<chunk + 1))
                        }
                    } catch {
                        opened = .damaged(key: "\(Hex.fixedWidth(region, digits: 4))/\(record.key)", error: error)
                    }
                    try await each(opened)
                }
                after = page.more ? page.records.last?.key : nil
            } while after != nil
            await backend.doneReading(map)  // one region's copy at a time (LocalBackend readingOnly)
        }
    }
}
