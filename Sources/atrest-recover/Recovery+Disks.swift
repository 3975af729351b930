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
            var chunks = 0, bytes: UInt64 = 0, damagedChunks = 0
            do {
                let file = try extractor?.createDisk(account: account, disk: disk.info.name, size: size)
                try await disks.recoverChunks(of: disk, accountKey: key) { opened in
                    switch opened {
                    case .failure(let damaged):
                        damagedChunks += 1
                        output.line("damaged chunk \(path)/\(damaged.key): \(damaged.reason)")
                    case .success(let chunk):
                        // The last chunk of a disk whose size is not a multiple of 4 KiB ends at the disk's end.
                        let length = Int(min(UInt64(chunk.bytes.count), size - chunk.offset))
                        try chunk.bytes[..<length].withUnsafeBytes { try file?.write($0, at: chunk.offset) }
                        chunks += 1
                        bytes += UInt64(length)
                    }
                }
                try file?.finish()
            } catch {
                output.line("damaged disk \(path): its chunks cannot be read: \(RecoveryOutput.message(error))")
                summary.damaged += 1
            }
            summary.damaged += damagedChunks
            summary.bytes += bytes
            output.line((damagedChunks == 0 ? "good disk" : "disk") + " \(path) chunks=\(chunks) bytes=\(bytes)"
                        + (damagedChunks == 0 ? "" : " damaged-chunks=\(damagedChunks)"))
        }
    }
}
