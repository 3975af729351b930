/// Offline recovery (`atrest-recover`): every queue and every message a
/// queue holds, each record opened and checked on its own, so one damaged
/// record is reported and the rest still reads. Reads only.
extension QueueStore {
    /// A queue as its directory record names it.
    public struct RecoveredQueue: Sendable {
        public var info: QueueInfo
        let map: RecordMapName
        let context: [UInt8]
    }

    /// A record that does not open (or names another key): where and why.
    public struct DamagedRecord: Error, Sendable {
        public var key: String
        public var reason: String
    }

    /// The account's queues by name, and the directory records that do not
    /// open. An account that never had a queue has none.
    public func recoverQueues(account: String, accountKey: AccountKey) async throws -> (queues: [RecoveredQueue], damaged: [DamagedRecord]) {
        let directory = try directory(account, accountKey)
        var queues: [RecoveredQueue] = [], damaged: [DamagedRecord] = []
        for entry in try await backend.allRecords(directory) ?? [] {
            do {
                let record = try QueueRecord(decoding: try SealedRecord.open(entry.value, context: Self.queueContext(account), map: directory,
                                                                             key: entry.key, accountKey: accountKey))
                guard try directoryKey(account, record.name, accountKey) == entry.key else {
                    throw StorageError.integrity("queue record \(entry.key) names another queue")
                }
                queues.append(RecoveredQueue(info: QueueInfo(name: record.name, metadata: record.metadata, creationTime: record.creationTime),
                                             map: try messages(account, record.id, accountKey),
                                             context: Self.messageContext(account, record.id)))
            } catch {
                damaged.append(DamagedRecord(key: entry.key, reason: Self.reason(error)))
            }
        }
        return (queues.sorted { $0.info.name < $1.info.name }, damaged)
    }

    /// Every message `queue` holds, visible or not, expired ones not yet
    /// removed included, in the map's order (next-visible time first);
    /// `each` gets every message or damaged record in turn.
    public func recoverMessages(of queue: RecoveredQueue, accountKey: AccountKey,
                                _ each: (Result<QueuedMessage, DamagedRecord>) async throws -> Void) async throws {
        var after: String?
        repeat {
            let page = try await backend.records(queue.map, after: after, limit: 1000)
            for entry in page.records {
                let opened: Result<QueuedMessage, DamagedRecord>
                do {
                    opened = .success(try open(entry.key, entry.value, queue.context, queue.map, accountKey).record.message(withReceipt: false))
                } catch {
                    opened = .failure(DamagedRecord(key: entry.key, reason: Self.reason(error)))
                }
                try await each(opened)
            }
            after = page.more ? page.records.last?.key : nil
        } while after != nil
        await backend.doneReading(queue.map)
    }

    static func reason(_ error: any Error) -> String {
        (error as? StorageError)?.message ?? "\(error)"
    }
}
