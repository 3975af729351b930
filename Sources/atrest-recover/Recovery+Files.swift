import AtRestStorage

/// File shares in the offline walk: every share of the account, its tree
/// walked from the root (names opened from the sealed entries by
/// `FileStore+Recovery`, the worker's own records and readers) and,
/// verifying or extracting, every chunk of every file opened on its own.
/// Extracted to `DIR/<account>/.files/<share>/<path as stored>`: files
/// with their bytes (holes where nothing is stored), directories, the
/// permission bits and mtime of each. A file with a damaged chunk is
/// reported and its output removed; the rest of the share still exports.
extension Recovery {
    func recoverFiles(_ account: String, _ key: AccountKey, _ files: FileStore, _ mode: Mode, only: [String],
                      _ summary: inout RecoverySummary) async {
        let found: (shares: [FileStore.RecoveredShare], damaged: [FileStore.DamagedRecord])
        do {
            found = try await files.recoverShares(account: account, accountKey: key)
        } catch {
            output.line("damaged account \(account): its shares cannot be listed: \(RecoveryOutput.message(error))")
            summary.damaged += 1
            return
        }
        for damaged in found.damaged {
            output.line("damaged share record \(account)/\(damaged.key): \(damaged.reason)")
            summary.damaged += 1
        }
        for missing in only where !found.shares.contains(where: { $0.info.name == missing }) {
            output.line("damaged share \(account)/\(missing): no share of that name opens")
            summary.damaged += 1
        }
        for share in found.shares where only.isEmpty || only.contains(share.info.name) {
            summary.shares += 1
            let i = share.info
            output.line("share \(account)/\(i.name) quota=\(i.quota) bytes=\(i.usageBytes) files=\(i.files) directories=\(i.directories)")
            await recoverShare(account, share, key, files, mode, &summary)
        }
    }

    private func recoverShare(_ account: String, _ share: FileStore.RecoveredShare, _ key: AccountKey, _ files: FileStore, _ mode: Mode,
                              _ summary: inout RecoverySummary) async {
        let prefix = "\(account)/\(share.info.name)"
        var directories: [(path: String, info: FileInfo)] = []
        do {
            let root = try extractor?.createShare(account: account, share: share.info.name)
            try await files.recoverTree(of: share, accountKey: key) { found in
                switch found {
                case .failure(let damaged):
                    summary.damaged += 1
                    output.line("damaged file record \(prefix)/\(damaged.key): \(damaged.reason)")
                case .success(let node) where node.info.kind == .directory:
                    summary.directories += 1
                    let path = node.path.joined(separator: "/")
                    output.line("directory \(prefix)/\(path) mode=\(Self.octal(node.info.mode))")
                    if let root { directories.append((try Extractor.makeTreeDirectory(root, node.path), node.info)) }
                case .success(let node):
                    summary.files += 1
                    let path = node.path.joined(separator: "/")
                    guard mode != .list else {
                        return output.line("file \(prefix)/\(path) size=\(node.info.size) mode=\(Self.octal(node.info.mode))")
                    }
                    await recoverFile(node, "\(prefix)/\(path)", root, share, key, files, &summary)
                }
            }
        } catch {
            summary.damaged += 1
            output.line("damaged share \(prefix): its tree cannot be read: \(RecoveryOutput.message(error))")
        }
        // Deepest first, so a read-only directory is stamped after what it holds.
        for (path, info) in directories.reversed() {
            do { try Extractor.stamp(path, mode: info.mode, mtimeMs: info.mtime) } catch { output.line("warning: \(error)") }
        }
    }

    /// Reads every chunk of one file (each tag checked); with an extractor,
    /// into its file, which is removed again when a chunk is damaged.
    private func recoverFile(_ node: FileStore.RecoveredNode, _ shown: String, _ root: String?, _ share: FileStore.RecoveredShare,
                             _ key: AccountKey, _ files: FileStore, _ summary: inout RecoverySummary) async {
        let size = node.info.size
        var count = ChunkCount()
        var file: ExtractedFile?
        do {
            file = try root.map { try Extractor.createTreeFile($0, node.path, size: size) }
            try await files.recoverData(of: node, in: share, accountKey: key) { try take($0, shown, size: size, into: file, &count) }
            try file?.finish()
            if count.damaged == 0, let file { try Extractor.stamp(file.path, mode: node.info.mode, mtimeMs: node.info.mtime) }
        } catch {
            file?.discard()
            summary.damaged += 1
            return output.line("damaged file \(shown): \(RecoveryOutput.message(error))")
        }
        guard count.damaged == 0 else {
            file?.discard()
            summary.damaged += 1
            return output.line("damaged file \(shown): \(count.damaged) of its chunks do not open" + (file == nil ? "" : " (not extracted)"))
        }
        summary.bytes += count.bytes
        output.line("good file \(shown) size=\(size) chunks=\(count.chunks) bytes=\(count.bytes)")
    }

    static func octal(_ mode: UInt32) -> String { "0" + String(mode, radix: 8) }
}
