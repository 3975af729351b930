import AtRestClient
import AtRestMessaging
import AtRestStorage
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 20, the re-encryption job over every kind: an account with blobs,
/// a queue (messages with and without a TTL, one received and held), a
/// table (entities, one of several pieces, a partition index), a disk
/// (written pages in two chunks' worth of places) and a share (a directory,
/// an inline file and a chunked one) is rotated, re-encrypted and its old
/// version retired; a scan of the account's record maps in the data
/// directory (the SQLite files the local backend keeps) reads every
/// record's account key version, before (all 1) and after (all 2), and
/// everything reads back byte-exact with the same message ids, pop
/// receipt, ETags and timestamps. The job is also SIGKILLed mid-way through
/// the records and resumes.
@Suite("Account re-encryption of queues, tables, disks and shares", .serialized)
struct AccountReencryptKindsTests {
    typealias Fixture = AccountReencryptTests.Fixture

    /// What the account holds besides its blobs, to read back.
    struct Held {
        var messages: [String: [UInt8]] = [:]
        var received: QueueMessage? = nil
        var entities: [String: Entity] = [:]
        var disk: [UInt8] = []
        var files: [String: [UInt8]] = [:]
    }

    static let gib: UInt64 = 1 << 30
    static let diskSize: UInt64 = 2 << 20

    struct Clients {
        let queues: QueueClient, tables: TableClient, disks: DiskClient, files: FileClient

        init(_ f: Fixture) async throws {
            let base = ServiceClient(rpc: f.c, token: try await f.cluster.token(tenant: "t1", "alice", "alice-secret-123456"), timeout: .seconds(60))
            queues = QueueClient(base, account: f.account)
            tables = TableClient(base, account: f.account)
            disks = DiskClient(base, account: f.account)
            files = FileClient(base, account: f.account)
        }
    }

    /// Fills the account: a queue, a table, a disk and a share.
    static func fill(_ k: Clients) async throws -> Held {
        var held = Held()
        try await k.queues.createQueue("work", metadata: ["team": "blue"])
        for i in 0..<6 {
            let body = Array("message-\(i)-".utf8) + [UInt8](repeating: UInt8(i), count: i * 1000)
            let message = try await k.queues.put("work", body, ttlSeconds: i % 2 == 0 ? 3600 : -1)
            held.messages[message.messageID] = body
        }
        held.received = try #require(try await k.queues.get("work", count: 1, visibilitySeconds: 600).first)

        _ = try await k.tables.createTable("People")
        for i in 0..<40 {
            let entity = Entity(partitionKey: "p", rowKey: String(format: "r%03d", i),
                                properties: [EntityProperty(name: "N", type: EntityProperty.Kind.int32.rawValue, intValue: Int64(i)),
                                             EntityProperty(name: "Name", type: EntityProperty.Kind.string.rawValue, stringValue: "name \(i)")])
            let stored = try await k.tables.insert("People", entity)
            held.entities["p/\(entity.rowKey)"] = stored
        }
        // An entity over 128 KiB: stored in pieces.
        let big = Entity(partitionKey: "q", rowKey: "big", properties: (0..<3).map { i in
            EntityProperty(name: "B\(i)", type: EntityProperty.Kind.binary.rawValue, bytesValue: (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ i) })
        })
        held.entities["q/big"] = try await k.tables.insert("People", big)
        // A partition query writes the partition's RowKey index.
        #expect(try await k.tables.query("People", filter: "PartitionKey eq 'p'").entities.count == 40)

        _ = try await k.disks.create("vm-disk", size: diskSize)
        var disk = [UInt8](repeating: 0, count: Int(diskSize))
        for (offset, length) in [(0, 65_536), (1 << 20 | 512, 3 * 512), (Int(diskSize) - 4096, 4096)] {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ offset >> 9 &+ 1) }
            try await k.disks.putPages("vm-disk", offset: UInt64(offset), data: data)
            disk.replaceSubrange(offset..<offset + length, with: data)
        }
        held.disk = disk

        _ = try await k.files.createShare("docs", quota: 64 << 20)
        _ = try await k.files.createDirectory("docs", "dir")
        held.files["dir/big.bin"] = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 3) }
        held.files["small.txt"] = Array("a small file, kept inline".utf8)
        for (path, data) in held.files { _ = try await k.files.createFile("docs", path, data: data) }
        return held
    }

    /// Everything reads back as it was: message bodies and ids, the held pop receipt, entities with their ETags and timestamps, disk and files.
    static func expectReadable(_ k: Clients, _ held: Held) async throws {
        let peeked = try await k.queues.peek("work", count: 32)
        #expect(Dictionary(uniqueKeysWithValues: peeked.map { ($0.messageID, $0.body) }) == held.messages.filter { $0.key != held.received?.messageID },
                "every message not held reads back with its id and body")
        for (key, entity) in held.entities {
            let parts = key.split(separator: "/").map(String.init)
            let got = try await k.tables.get("People", partitionKey: parts[0], rowKey: parts[1])
            #expect(got.etag == entity.etag && got.timestampUs == entity.timestampUs
                    && got.properties.sorted { $0.name < $1.name } == entity.properties.sorted { $0.name < $1.name }, "\(key)")
        }
        #expect(try await k.tables.query("People", filter: "PartitionKey eq 'p'").entities.map(\.etag).sorted()
                == held.entities.filter { $0.key.hasPrefix("p/") }.map(\.value.etag).sorted())
        #expect(try await k.disks.getPages("vm-disk", offset: 0, length: Int(diskSize)) == held.disk)
        for (path, data) in held.files {
            #expect(try await k.files.readFile("docs", path, offset: 0, length: data.count) == data, "\(path)")
        }
        let share = try await k.files.shareProperties("docs")
        #expect(share.usageBytes == UInt64(held.files.values.reduce(0) { $0 + $1.count }), "\(share)")
        #expect(try await k.queues.properties("work").metadata == ["team": "blue"])
    }

    /// The account key version of every record of the account's record maps
    /// (queues, tables, disks, shares and their maps), read from the data
    /// directories (the local backend's SQLite files), by map kind; a
    /// table entity's piece records carry no header of their own.
    static func recordVersions(_ cluster: LocalCluster) async throws -> [String: Set<UInt32>] {
        var byKind: [String: Set<UInt32>] = [:]
        var seen = 0
        let maps = cluster.allFiles().filter { $0.hasSuffix(".sqlite") && $0.contains("/.records/a-") }
        for path in maps {
            let parts = path.components(separatedBy: "/.records/")
            let (dataDirectory, rest) = (parts[0], parts[1].split(separator: "/").map(String.init))
            let container = rest[0], mapName = String(rest[1].dropLast(".sqlite".count))
            let prefix = String(mapName.prefix { $0 != "-" })
            guard ["queues", "tables", "disks", "shares", "q", "t", "k", "fs", "fc"].contains(prefix) else { continue }
            let backend = try LocalBackend(readingOnly: dataDirectory)
            let map = try RecordMapName(try BackendContainer(container), mapName)
            var after: String?
            repeat {
                let page: RecordPage
                do { page = try await backend.records(map, after: after, limit: 1000) } catch let error as StorageError where error.code == .notFound { break }
                for record in page.records {
                    let dashes = record.key.filter { $0 == "-" }.count
                    if prefix == "t", record.key.hasPrefix("e-"), dashes == 3 { continue }  // a piece
                    let at = prefix == "t" && record.key.hasPrefix("e-") ? 1 : 0  // piece count first
                    let v = record.value
                    try #require(v.count > at + 5 && (v[at] == 1 || v[at] == 2), "\(mapName)/\(record.key) is not a sealed record")
                    byKind[prefix, default: []].insert(v[(at + 1)..<(at + 5)].reduce(0) { $0 << 8 | UInt32($1) })
                    seen += 1
                }
                after = page.more ? page.records.last?.key : nil
            } while after != nil
            await backend.doneReading(map)
        }
        #expect(seen > 60, "the scan found the account's records (\(seen))")
        return byKind
    }

    static let allKinds: Set<String> = ["queues", "tables", "disks", "shares", "q", "t", "k", "fs", "fc"]

    @Test func everyKindResealedThenRetired() async throws {
        let f = try await Fixture(account: "rk-acct", count: 6)
        defer { f.cluster.stop() }
        let k = try await Clients(f)
        let held = try await Self.fill(k)
        let before = try await Self.recordVersions(f.cluster)
        #expect(Set(before.keys) == Self.allKinds && before.values.allSatisfy { $0 == [1] }, "\(before)")
        #expect(try await f.atrest(["account", "rotate-key", "rk-acct"]).status == 0)
        // Before a job that covers them, the kinds keep retiring refused (a job of one container covers none).
        #expect(try await f.json(["account", "reencrypt", "rk-acct", "--container", "one", "--wait"]).status == 0)
        let early = try await f.atrest(["account", "retire-versions", "rk-acct"])
        #expect(early.status == 6 && early.err.contains("covered container 'one' only"), "\(early)")

        let done = try await f.json(["account", "reencrypt", "rk-acct", "--wait"])
        #expect(done.status == 0 && done.object["state"] as? String == "completed", "\(done.object) \(done.err)")
        #expect(done.object["kinds"] as? String == "queues,tables,disks,shares" && done.object["kindsDone"] as? String == "queues,tables,disks,shares",
                "\(done.object)")
        let resealed = done.object["recordsRewritten"] as? Int ?? 0, looked = done.object["recordsDone"] as? Int ?? 0
        #expect(resealed > 60 && looked >= resealed && done.object["recordsRaced"] as? Int == 0, "\(done.object)")
        let after = try await Self.recordVersions(f.cluster)
        #expect(Set(after.keys) == Self.allKinds && after.values.allSatisfy { $0 == [2] }, "no record is left under version 1: \(after)")
        try await Self.expectReadable(k, held)
        try await f.expectAllReadable()

        // The public Blob/Reencrypt rewrites blobs only: a kind is the job's (AccountData/Reencrypt, service role).
        do {
            _ = try await f.c.call(BlobMethod.reencrypt.name, request: BlobReencryptRequest(container: "one", kind: "queues"),
                                   as: BlobReencryptResponse.self, metadata: f.a)
            Issue.record("Blob/Reencrypt took a kind")
        } catch let status as RPCStatus {
            #expect(status.code == .invalidArgument && status.message.contains("kind must be empty"), "\(status)")
        }

        // A second job finds nothing to reseal.
        let again = try await f.json(["account", "reencrypt", "rk-acct", "--wait"])
        #expect(again.status == 0 && again.object["recordsRewritten"] as? Int == 0 && again.object["recordsDone"] as? Int ?? 0 > 60, "\(again.object)")

        // Retiring version 1 is allowed now, and everything still reads (version 1's key is gone).
        let retired = try await f.json(["account", "retire-versions", "rk-acct"])
        #expect(retired.status == 0 && retired.object["accountKeyVersions"] as? String == "2"
                && retired.object["retiredAccountKeyVersions"] as? String == "1", "\(retired.object) \(retired.err)")
        try await Self.expectReadable(k, held)
        try await f.expectAllReadable()
        // The message received before the rotation is deleted with the pop receipt it was given then.
        let received = try #require(held.received)
        try await k.queues.delete("work", messageID: received.messageID, popReceipt: received.popReceipt)
        let audit = try await f.auditEntries()
        #expect(audit.contains { $0.operation == "reencryptCompleted" && $0.detail.contains("records of queues, tables, disks, shares") }, "\(audit.map(\.detail))")
    }

    @Test func frontDoorKilledAmidTheRecordsResumes() async throws {
        let f = try await Fixture(account: "rk-kill", count: 2)
        defer { f.cluster.stop() }
        let k = try await Clients(f)
        let held = try await Self.fill(k)
        // More records, so that the job is still on them when it is killed.
        try await k.queues.createQueue("bulk")
        var bulk: [String: [UInt8]] = [:]
        for i in 0..<150 { bulk[try await k.queues.put("bulk", Array("bulk \(i)".utf8)).messageID] = Array("bulk \(i)".utf8) }
        #expect(try await f.atrest(["account", "rotate-key", "rk-kill"]).status == 0)
        let second = try f.cluster.addFrontDoor()
        try f.cluster.addWorker("second-0", frontDoor: second.fields["workers"])
        // Page size 1: 10 records per page, so the records take many pages.
        let started = try await f.json(["account", "reencrypt", "rk-kill", "--page-size", "1"], endpoint: second.endpoint)
        #expect(started.status == 0 && started.object["state"] as? String == "running", "\(started.object) \(started.err)")
        var midway = ReencryptJob()
        for _ in 0..<3000 {
            midway = try await f.job()
            if midway.recordsDone >= 30 || !midway.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(midway.isRunning && midway.recordsDone >= 30, "killed amid the records: \(midway)")
        try f.cluster.restartExtraFrontDoor(0)
        try await Self.expectReadable(k, held)
        let done = try await f.waitForJobEnd()
        #expect(done.state == ReencryptJob.completed && done.coveredKinds == BlobReencryptRequest.recordKinds && done.recordsRaced == 0, "\(done)")
        let after = try await Self.recordVersions(f.cluster)
        #expect(after.values.allSatisfy { $0 == [2] }, "\(after)")
        #expect(try await f.atrest(["account", "retire-versions", "rk-kill"]).status == 0)
        try await Self.expectReadable(k, held)
        let got = try await k.queues.get("bulk", count: 32, visibilitySeconds: 60) + (try await k.queues.get("bulk", count: 32, visibilitySeconds: 60))
        #expect(got.count == 64 && got.allSatisfy { bulk[$0.messageID] == $0.body }, "\(got.count)")
    }
}
