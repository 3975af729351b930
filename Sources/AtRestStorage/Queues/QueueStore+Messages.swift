import AtRestCrypto

/// Putting, peeking, getting, updating, deleting and clearing messages.
extension QueueStore {
    /// Adds a message, durable on return, invisible for `delaySeconds`.
    public func put(account: String, queue: String, body: [UInt8], timeToLive: QueueTimeToLive = .standard, delaySeconds: Int64 = 0,
                    accountKey: AccountKey) async throws -> QueuedMessage {
        guard body.count <= QueueLimits.maxBodyBytes else {
            throw StorageError(.invalidArgument, "message body is \(body.count) bytes; at most \(QueueLimits.maxBodyBytes) (64 KiB)")
        }
        try QueueLimits.check(delaySeconds, QueueLimits.delay, "visibility delay")
        let ttl: Int64? = switch timeToLive {
        case .standard: QueueLimits.maxSeconds
        case .seconds(let seconds): seconds
        case .never: nil
        }
        if let ttl {
            try QueueLimits.check(ttl, QueueLimits.timeToLive, "time to live (or -1: never)")
            guard delaySeconds < ttl else {
                throw StorageError(.invalidArgument, "visibility delay (\(delaySeconds) s) must be shorter than the time to live (\(ttl) s)")
            }
        }
        return try await withMessageMap(account, queue, accountKey) { map, context in
            let now = clock()
            let record = MessageRecord(id: try SecureRandom.bytes(MessageRecord.idSize), insertionTime: now, expirationTime: ttl.map { now + $0 * 1000 },
                                       nextVisibleTime: now + delaySeconds * 1000, dequeueCount: 0,
                                       receiptSecret: try SecureRandom.bytes(MessageRecord.secretSize), body: body)
            let key = record.key
            try await backend.apply(RecordBatch(conditions: [.absent(key)], sets: [key: try seal(record, context, map, accountKey)]), to: map)
            return record.message(withReceipt: true)
        }
    }

    /// Up to `count` visible messages from the head, unchanged (no pop receipts).
    public func peek(account: String, queue: String, count: Int = 1, accountKey: AccountKey) async throws -> [QueuedMessage] {
        try QueueLimits.check(count: count)
        return try await withMessageMap(account, queue, accountKey) { map, context in
            try await visible(map, context, count: count, accountKey: accountKey).map { $0.record.message(withReceipt: false) }
        }
    }

    /// Up to `count` visible messages from the head, each claimed for
    /// `visibilitySeconds`: a new pop receipt, dequeue count + 1, and
    /// invisible to every other caller until then. Each claim is one
    /// conditional batch on the message as it was read, so a message
    /// another caller claimed first is skipped, never handed out twice.
    public func get(account: String, queue: String, count: Int = 1, visibilitySeconds: Int64, accountKey: AccountKey) async throws -> [QueuedMessage] {
        try QueueLimits.check(count: count)
        try QueueLimits.check(visibilitySeconds, QueueLimits.getVisibility, "visibility timeout")
        return try await withMessageMap(account, queue, accountKey) { map, context in
            try await claimVisible(count: count, visibilitySeconds: visibilitySeconds, map, context, accountKey)
        }
    }

    /// `get` on the queue's map: claims up to `count` visible messages.
    func claimVisible(count: Int, visibilitySeconds: Int64, _ map: RecordMapName, _ context: [UInt8], _ accountKey: AccountKey) async throws -> [QueuedMessage] {
        var claimed: [QueuedMessage] = []
        // Callers racing for the head lose some claims; a few more reads fill the answer.
        for round in 0..<4 where claimed.count < count {
            let candidates = try await visible(map, context, count: (count - claimed.count) * 2, accountKey: accountKey)
            if candidates.isEmpty { break }
            // In order first; after a lost race, from a random place among the first visible
            // ones, so callers racing for the head spread over it instead of colliding again.
            let offset = round == 0 ? 0 : Int.random(in: 0..<candidates.count)
            let ordered = Array(candidates[offset...] + candidates[..<offset]).prefix(count - claimed.count)
            let now = clock()
            // All in one batch first (one transaction); when any of them was taken, one by one.
            if ordered.count > 1, let all = try await claimAll(Array(ordered), visibleAt: now + visibilitySeconds * 1000, map, context, accountKey) {
                claimed += all
                continue
            }
            let results = try await withThrowingTaskGroup(of: QueuedMessage?.self) { group in
                for candidate in ordered {
                    group.addTask { try await self.claim(candidate, visibleAt: now + visibilitySeconds * 1000, body: nil, countsAsDequeue: true,
                                                         map, context, accountKey) }
                }
                var out: [QueuedMessage] = []
                for try await message in group { if let message { out.append(message) } }
                return out
            }
            claimed += results
        }
        return claimed.sorted { ($0.insertionTime, $0.id) < ($1.insertionTime, $1.id) }
    }

    /// Makes the message invisible for `visibilitySeconds` from now (0:
    /// visible at once), with `body` when given; needs the current pop
    /// receipt and returns the message with a new one.
    public func update(account: String, queue: String, messageID: String, popReceipt: String, visibilitySeconds: Int64, body: [UInt8]? = nil,
                       accountKey: AccountKey) async throws -> QueuedMessage {
        try QueueLimits.check(visibilitySeconds, QueueLimits.updateVisibility, "visibility timeout")
        if let body, body.count > QueueLimits.maxBodyBytes {
            throw StorageError(.invalidArgument, "message body is \(body.count) bytes; at most \(QueueLimits.maxBodyBytes) (64 KiB)")
        }
        return try await withMessageMap(account, queue, accountKey) { map, context in
            // A lost race with a re-encryption reseal (same key, same secret) is read again and retried (`held` throws for any other change).
            for attempt in 0..<Self.resealRetries {
                let current = try await heldAgain(attempt, map, context, messageID, popReceipt, accountKey)
                if let updated = try await claim(current, visibleAt: clock() + visibilitySeconds * 1000, body: body, countsAsDequeue: false,
                                                 map, context, accountKey) {
                    return updated
                }
            }
            throw Self.receiptStale(messageID)
        }
    }

    /// Deletes the message; needs its current pop receipt.
    public func delete(account: String, queue: String, messageID: String, popReceipt: String, accountKey: AccountKey) async throws {
        try await withMessageMap(account, queue, accountKey) { map, context in
            // As in `update`: a message only resealed by re-encryption meanwhile is read again and deleted.
            for attempt in 0..<Self.resealRetries {
                let current = try await heldAgain(attempt, map, context, messageID, popReceipt, accountKey)
                if try await StorageError.succeeds(unless: .conditionFailed, {
                    try await backend.apply(RecordBatch(conditions: [.equals(current.key, current.sealed)], removes: [current.key]), to: map)
                }) { return }
            }
            throw Self.receiptStale(messageID)
        }
    }

    /// Removes every message (those put while it runs may stay).
    public func clear(account: String, queue: String, accountKey: AccountKey) async throws {
        try await withMessageMap(account, queue, accountKey) { map, _ in
            var after: String?
            repeat {
                let page = try await backend.records(map, after: after, limit: RecordBatch.maxChanges)
                if !page.records.isEmpty { try await backend.apply(RecordBatch(removes: page.records.map(\.key)), to: map) }
                after = page.more ? page.records.last?.key : nil
            } while after != nil
        }
    }

    // MARK: Helpers

    /// A message record as read: its key, sealed bytes and contents.
    struct Held: Sendable {
        var key: String
        var sealed: [UInt8]
        var record: MessageRecord
    }

    func seal(_ record: MessageRecord, _ context: [UInt8], _ map: RecordMapName, _ accountKey: AccountKey) throws -> [UInt8] {
        try SealedRecord.seal(record.encoded, context: context, map: map, key: record.key, accountKey: accountKey)
    }

    func open(_ key: String, _ sealed: [UInt8], _ context: [UInt8], _ map: RecordMapName, _ accountKey: AccountKey) throws -> Held {
        let record = try MessageRecord(decoding: try SealedRecord.open(sealed, context: context, map: map, key: key, accountKey: accountKey))
        guard record.key == key else { throw StorageError.integrity("message record \(key) names another key") }
        return Held(key: key, sealed: sealed, record: record)
    }

    /// Up to `count` messages visible now, from the head; expired ones on the way are removed.
    func visible(_ map: RecordMapName, _ context: [UInt8], count: Int, accountKey: AccountKey) async throws -> [Held] {
        let now = clock()
        var found: [Held] = [], after: String?
        while found.count < count {
            let page = try await backend.records(map, after: after, limit: min(1000, count * 2 + 8))
            for entry in page.records {
                guard let visibleAt = MessageRecord.visibleTime(ofKey: entry.key), visibleAt <= now else { return found }
                let held = try open(entry.key, entry.value, context, map, accountKey)
                if held.record.expired(at: now) {
                    // Never returned; removed only while it is still what was read.
                    _ = try? await backend.apply(RecordBatch(conditions: [.equals(held.key, held.sealed)], removes: [held.key]), to: map)
                    continue
                }
                found.append(held)
                if found.count == count { break }
            }
            guard page.more, let last = page.records.last?.key else { break }
            after = last
        }
        return found
    }

    /// Moves `current` to a new next-visible time (new key, new pop
    /// receipt) in one batch conditional on the bytes that were read; nil
    /// when another call changed or removed it first.
    func claim(_ current: Held, visibleAt: Int64, body: [UInt8]?, countsAsDequeue: Bool, _ map: RecordMapName, _ context: [UInt8],
               _ accountKey: AccountKey) async throws -> QueuedMessage? {
        var record = current.record
        record.nextVisibleTime = visibleAt
        record.receiptSecret = try SecureRandom.bytes(MessageRecord.secretSize)
        if countsAsDequeue { record.dequeueCount &+= 1 }
        if let body { record.body = body }
        let sealed = try seal(record, context, map, accountKey)
        let batch = record.key == current.key
            ? RecordBatch(conditions: [.equals(current.key, current.sealed)], sets: [record.key: sealed])
            : RecordBatch(conditions: [.equals(current.key, current.sealed), .absent(record.key)], sets: [record.key: sealed], removes: [current.key])
        do {
            try await backend.apply(batch, to: map)
            return record.message(withReceipt: true)
        } catch let error as StorageError where error.code == .conditionFailed {
            return nil
        }
    }

    /// Claims every one of `candidates` in one batch conditional on all of
    /// them; nil (nothing changed) when another call changed any of them first.
    func claimAll(_ candidates: [Held], visibleAt: Int64, _ map: RecordMapName, _ context: [UInt8], _ accountKey: AccountKey) async throws -> [QueuedMessage]? {
        var batch = RecordBatch(), claimed: [QueuedMessage] = []
        for current in candidates {
            var record = current.record
            record.nextVisibleTime = visibleAt
            record.receiptSecret = try SecureRandom.bytes(MessageRecord.secretSize)
            record.dequeueCount &+= 1
            let key = record.key
            batch.conditions += [.equals(current.key, current.sealed), .absent(key)]
            batch.removes.append(current.key)
            batch.sets[key] = try seal(record, context, map, accountKey)
            claimed.append(record.message(withReceipt: true))
        }
        do {
            try await backend.apply(batch, to: map)
            return claimed
        } catch let error as StorageError where error.code == .conditionFailed {
            return nil
        }
    }

    /// The message a pop receipt names, checked against it; `.notFound`
    /// when it is gone or the receipt is stale, `.conditionFailed` when
    /// the receipt is not the message's.
    func held(_ map: RecordMapName, _ context: [UInt8], _ messageID: String, _ popReceipt: String, _ accountKey: AccountKey) async throws -> Held {
        guard let id = Hex.decode(messageID), id.count == MessageRecord.idSize else {
            throw StorageError(.invalidArgument, "message id '\(messageID.prefix(80))' is not a message id (32 hex digits)")
        }
        guard let (key, secret) = MessageRecord.parse(popReceipt: popReceipt, id: id) else {
            throw StorageError(.invalidArgument, "pop receipt '\(popReceipt.prefix(80))' is not a pop receipt (64 hex digits from put, get or update)")
        }
        guard let sealed = try await backend.records(map, keys: [key])[key] else { throw Self.receiptStale(messageID) }
        let held = try open(key, sealed, context, map, accountKey)
        guard SecretBytes(held.record.receiptSecret) == SecretBytes(secret) else {
            throw StorageError(.conditionFailed, "pop receipt does not match message \(messageID): use the pop receipt of the latest get or update")
        }
        guard !held.record.expired(at: clock()) else { throw Self.receiptStale(messageID) }
        return held
    }

    /// `held`, where a later attempt (after a lost race) that finds another
    /// secret reports the race as before: the message was received or
    /// updated again since (`receiptStale`).
    func heldAgain(_ attempt: Int, _ map: RecordMapName, _ context: [UInt8], _ messageID: String, _ popReceipt: String,
                   _ accountKey: AccountKey) async throws -> Held {
        do {
            return try await held(map, context, messageID, popReceipt, accountKey)
        } catch let error as StorageError where attempt > 0 && error.code == .conditionFailed {
            throw Self.receiptStale(messageID)
        }
    }

    /// Tries of a pop-receipt verb whose batch lost to a change that kept
    /// the message's key and secret (a reseal under the current account key
    /// version: `RecordReencryption`); any other change fails `held`.
    static let resealRetries = 4

    static func receiptStale(_ messageID: String) -> StorageError {
        StorageError(.notFound, "message \(messageID) not found with this pop receipt: it was deleted, expired, or received or updated again since (which gave it a new pop receipt)")
    }
}
