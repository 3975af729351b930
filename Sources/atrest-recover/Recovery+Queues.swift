import AtRestStorage

/// Queues in the offline walk: every queue of the account, every message it
/// holds (visible, invisible, expired but not yet removed), each record's
/// tag checked; extracted to `DIR/<account>/.queues/<queue>/<message id>`.
extension Recovery {
    func recoverQueues(_ account: String, _ key: AccountKey, _ queues: QueueStore, _ mode: Mode, _ summary: inout RecoverySummary) async {
        let found: (queues: [QueueStore.RecoveredQueue], damaged: [QueueStore.DamagedRecord])
        do {
            found = try await queues.recoverQueues(account: account, accountKey: key)
        } catch {
            output.line("damaged account \(account): its queues cannot be listed: \(RecoveryOutput.message(error))")
            summary.damaged += 1
            return
        }
        for damaged in found.damaged {
            output.line("damaged queue record \(account)/\(damaged.key): \(damaged.reason)")
            summary.damaged += 1
        }
        for queue in found.queues {
            summary.queues += 1
            output.line("queue \(account)/\(queue.info.name)")
            do {
                try await queues.recoverMessages(of: queue, accountKey: key) { opened in
                    summary.messages += 1
                    let path = "\(account)/\(queue.info.name)"
                    switch opened {
                    case .failure(let damaged):
                        summary.damaged += 1
                        output.line("damaged message \(path)/\(damaged.key): \(damaged.reason)")
                    case .success(let message) where mode == .list:
                        output.line("message \(path)/\(message.id) length=\(message.body.count) dequeue-count=\(message.dequeueCount)")
                    case .success(let message):
                        if let extractor {
                            let file = try extractor.createMessage(account: account, queue: queue.info.name, id: message.id)
                            try message.body.withUnsafeBytes { try file.write($0) }
                            try file.finish()
                        }
                        summary.bytes += UInt64(message.body.count)
                        output.line("good message \(path)/\(message.id) bytes=\(message.body.count)")
                    }
                }
            } catch {
                output.line("damaged queue \(account)/\(queue.info.name): its messages cannot be read: \(RecoveryOutput.message(error))")
                summary.damaged += 1
            }
        }
    }
}
