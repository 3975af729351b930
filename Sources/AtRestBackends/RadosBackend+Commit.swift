import AtRestRados
import AtRestStorage

extension RadosBackend {
    /// Publishes an upload whose stripes (if any) are written: index entry,
    /// head write op with the condition, index entry again, then the
    /// replaced version's stripes are removed.
    ///
    /// The entry is set before the head, so no head exists without it; set
    /// again after (only if absent), because a delete of the previous head
    /// that raced this put may have removed it in between. A put that fails
    /// its condition puts back the entry of the head that is there.
    func commit(_ name: BackendName, condition: WriteCondition, record: HeadRecord, data: [UInt8]) async throws -> BackendVersion {
        let id = Array(record.upload.utf8)
        try await updateEntry(name.container, name.object, expecting: nil, set: id)
        do {
            let (version, replaced) = try await writeHead(name, condition: condition, record: record, data: data)
            _ = try? await updateEntry(name.container, name.object, expecting: [], set: id)
            if let replaced, replaced.upload != record.upload {
                await removeObjects(replaced.stripeNames(RadosLayout.head(name)))
            }
            return BackendVersion(String(version))
        } catch {
            let current = try? await currentHead(name)
            _ = try? await updateEntry(name.container, name.object, expecting: id, set: current.map { Array($0.record.upload.utf8) })
            throw error
        }
    }

    /// One atomic write op on the head: the condition (exclusive create or
    /// assert_version), the bytes and the record. `.none` asserts the
    /// version it just read and retries when another writer got there
    /// first, so it knows which version (and stripes) it replaced.
    private func writeHead(_ name: BackendName, condition: WriteCondition, record: HeadRecord, data: [UInt8]) async throws -> (UInt64, HeadRecord?) {
        let head = RadosLayout.head(name)
        while true {
            let current = try await currentHead(head)
            var steps: [RadosWriteOperation.Step]
            switch condition {
            case .none:
                steps = current.map { [.assertVersion($0.version)] } ?? [.create(exclusive: true)]
            case .mustNotExist:
                guard current == nil else { throw Self.conditionFailed(name, "already exists") }
                steps = [.create(exclusive: true)]
            case .mustMatch(let expected):
                guard let current, String(current.version) == expected.rawValue else { throw Self.conditionFailed(name, "is not at the expected version") }
                steps = [.assertVersion(current.version)]
            }
            steps += [.writeFull(data), .setXattr(name: RadosLayout.headXattr, value: record.bytes)]
            do {
                return (try await pool.operate(head, RadosWriteOperation(steps)), current?.record)
            } catch let error as RadosError where [.versionMismatch, .alreadyExists, .notFound].contains(error.code) {
                if condition == .none { continue }
                throw Self.conditionFailed(name, "changed under the write")
            } catch {
                throw failure(error, "writing \(name)")
            }
        }
    }

    static func conditionFailed(_ name: BackendName, _ why: String) -> StorageError {
        StorageError(.conditionFailed, "backend object \(name) \(why); nothing was written")
    }
}
