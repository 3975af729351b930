import AtRestStorage

/// Disks in the offline walk: every disk of the account and, verifying or
/// extracting, every chunk stored in its regions, each opened and checked
/// on its own; extracted to `DIR/<account>/.disks/<disk>.img`, a sparse
/// file of the disk's size (holes where nothing is stored; a damaged chunk
/// leaves zeros and is reported).
extension Recovery {
    func recoverDisks(_ account: String, _ key: AccountKey, _ disks: DiskStore, _ mode: Mode, _ summary: inout RecoverySummary) async {
        let found: (disks: [DiskStore.RecoveredDisk], damaged: [DiskStore.DamagedRecord])
        do {
            found = try await disks.recoverDisks(account: account, accountKey: key)
        } catch {
            output.line("damaged account \(account): its disks cannot be listed: \(RecoveryOutput.message(error))")
            summary.damaged += 1
            return
        }
        for damaged in found.damaged {
            output.line("damaged disk record \(account)/\(damaged.key): \(damaged.reason)")
            summary.damaged += 1
        }
        for disk in found.disks {
            summary.disks += 1
            let path = "\(account)/\(disk.info.name)", size = disk.info.size
            output.line("disk \(path) size=\(size)")
            guard mode != .list else { continue }
            var count = ChunkCount()
            do {
                let file = try extractor?.createDisk(account: account, disk: disk.info.name, size: size)
                try await disks.recoverChunks(of: disk, accountKey: key) { try take($0, path, size: size, into: file, &count) }
                try file?.finish()
            } catch {
                output.line("damaged disk \(path): its chunks cannot be read: \(RecoveryOutput.message(error))")
                summary.damaged += 1
            }
            summary.damaged += count.damaged
            summary.bytes += count.bytes
            output.line((count.damaged == 0 ? "good disk" : "disk") + " \(path) chunks=\(count.chunks) bytes=\(count.bytes)"
                        + (count.damaged == 0 ? "" : " damaged-chunks=\(count.damaged)"))
        }
    }

    /// What a disk's or a file's chunks added up to.
    struct ChunkCount {
        var chunks = 0
        var bytes: UInt64 = 0
        var damaged = 0
    }

    /// One chunk of a disk or file of `size` bytes shown as `path`: a
    /// damaged one reported, a good one counted and written at its offset
    /// (cut at the end: the last chunk may reach past it).
    func take(_ opened: Result<DiskStore.RecoveredChunk, DiskStore.DamagedRecord>, _ path: String, size: UInt64, into file: ExtractedFile?,
              _ count: inout ChunkCount) throws {
        switch opened {
        case .failure(let damaged):
            count.damaged += 1
            output.line("damaged chunk \(path)/\(damaged.key): \(damaged.reason)")
        case .success(let chunk):
            let length = Int(min(UInt64(chunk.bytes.count), size - chunk.offset))
            try chunk.bytes[..<length].withUnsafeBytes { try file?.write($0, at: chunk.offset) }
            count.chunks += 1
            count.bytes += UInt64(length)
        }
    }
}
