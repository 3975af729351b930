import AtRestIdentity
import AtRestKeyVault
@testable import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Tables end to end through the real processes (front door, two workers,
/// vault, identity), on the local backend and on a throwaway Ceph cluster.
@Suite(.serialized) struct TableEndToEndTests {
    @Test(arguments: StorageUnderTest.allCases)
    func tablesEndToEnd(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.blobClusterOptions) { on in try await endToEnd(on) }
    }

    /// The limits and the errors of every verb through the real processes (the store's own tests check them too;
    /// this checks that the front door and workers carry each to the caller as the status it documents).
    @Test func limitsAndErrorsEndToEnd() async throws {
        try await ClusterOnStorage.with(.local, LocalCluster.blobClusterOptions) { on in try await limitsAndErrors(on) }
    }

    static func property(_ name: String, _ kind: EntityProperty.Kind, string: String = "", int: Int64 = 0, double: Double = 0, bool: Bool = false,
                         bytes: [UInt8] = []) -> EntityProperty {
        EntityProperty(name: name, type: kind.rawValue, stringValue: string, intValue: int, doubleValue: double, boolValue: bool, bytesValue: bytes)
    }

    func endToEnd(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        try await cluster.waitForWorkers(count: 2)
        let (alice, bob) = try await cluster.bootstrapUsers()
        _ = try await cluster.adminIdentity().createUser(tenant: "t1", name: "carol", secret: "carol-secret-123456")
        _ = try await cluster.adminIdentity().grantRole(IdentityRoleRequest(tenant: "t1", name: "carol", role: "accountReader:acct-t"))
        let c = cluster.client
        _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-t"), as: AccountInfo.self, metadata: alice)
        let a = alice.merging(["account": "acct-t"]) { $1 }
        let carol = try await cluster.login(tenant: "t1", "carol", "carol-secret-123456").merging(["account": "acct-t"]) { $1 }

        // Tables: create, duplicate (any case), bad name, list.
        let tableName = "Pangolin77"
        #expect(try await queueCall(c, TableMethod.createTable, TableRequest(table: tableName), a).table == tableName)
        _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: "race"), a)
        await expectCode(.alreadyExists, contains: "already exists") { _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: "pangolin77"), a) }
        await expectCode(.invalidArgument, contains: "letters and digits") { _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: "bad-name"), a) }
        #expect(try await queueCall(c, TableMethod.listTables, TableListRequest(), a).tables.map(\.table) == [tableName, "race"])

        // Entities: every type round trips; ETag and Timestamp from the server; select.
        let secretKey = "pk-okapi-5521", secretValue = "value-narwhal-9931", secretName = "PropIbis4481"
        let properties = [
            Self.property(secretName, .string, string: secretValue), Self.property("Age", .int32, int: 36), Self.property("Big", .int64, int: 1 << 40),
            Self.property("Score", .double, double: 2.5), Self.property("Active", .bool, bool: true), Self.property("Born", .datetime, int: -86_400_000_000),
            Self.property("Id", .guid, bytes: Array(0..<16)), Self.property("Photo", .binary, bytes: [0, 255]),
        ]
        let inserted = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r1", properties: properties)), a)
        #expect(inserted.etag.count == 32 && inserted.timestampUs > 1_700_000_000_000_000 && inserted.properties == properties.sorted { $0.name < $1.name })
        #expect(try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: tableName, partitionKey: secretKey, rowKey: "r1"), carol) == inserted)
        #expect(try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: tableName, partitionKey: secretKey, rowKey: "r1", select: ["Age"]), a).properties == [properties[1]])
        await expectCode(.alreadyExists, contains: "already exists") {
            _ = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r1")), a)
        }
        let merged = try await queueCall(c, TableMethod.mergeEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r1",
                                                                                   properties: [Self.property("Age", .int32, int: 37)]), ifMatch: inserted.etag), a)
        #expect(merged.etag != inserted.etag && merged.properties.count == 8 && merged.properties.contains(Self.property("Age", .int32, int: 37)))
        await expectCode(.failedPrecondition, contains: "has ETag \(merged.etag) now, not \(inserted.etag)") {
            _ = try await queueCall(c, TableMethod.replaceEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r1"), ifMatch: inserted.etag), a)
        }
        await expectCode(.invalidArgument, contains: "needs If-Match") {
            _ = try await queueCall(c, TableMethod.replaceEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r1")), a)
        }
        let replaced = try await queueCall(c, TableMethod.replaceEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r1",
                                                                                       properties: [Self.property("Only", .bool, bool: true)]), ifMatch: "*"), a)
        #expect(replaced.properties == [Self.property("Only", .bool, bool: true)])
        _ = try await queueCall(c, TableMethod.insertOrMergeEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r2", properties: properties)), a)
        _ = try await queueCall(c, TableMethod.insertOrReplaceEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r2")), a)
        #expect(try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: tableName, partitionKey: secretKey, rowKey: "r2"), a).properties == [])
        _ = try await queueCall(c, TableMethod.deleteEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: secretKey, rowKey: "r2"), ifMatch: "*"), a)
        await expectCode(.notFound, contains: "does not exist in table") {
            _ = try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: tableName, partitionKey: secretKey, rowKey: "r2"), a)
        }
        await expectCode(.notFound, contains: "table 'nope' does not exist") { _ = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "nope"), a) }
        await expectCode(.invalidArgument, contains: "has type 9") {
            _ = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: "p", rowKey: "r", properties: [EntityProperty(name: "X", type: 9)])), a)
        }
        await expectCode(.invalidArgument, contains: "out of range") {
            _ = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: "p", rowKey: "r", properties: [Self.property("X", .int32, int: 1 << 40)])), a)
        }
        await expectCode(.invalidArgument, contains: "contains U+2F") {
            _ = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: "a/b", rowKey: "r")), a)
        }

        // Batches: 100 operations in one partition, then a failing one that changes nothing.
        let rows = (0..<100).map { EntityOperation(kind: EntityOperation.Kind.insert.rawValue, entity: Entity(partitionKey: "batch", rowKey: String(format: "row%03d", $0),
                                                                                                              properties: [Self.property("N", .int32, int: Int64($0))])) }
        let results = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: tableName, operations: rows), a).results
        #expect(results.count == 100 && results.allSatisfy { $0.etag.count == 32 })
        await expectCode(.alreadyExists, contains: "operation 1 (insert)") {
            _ = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: tableName, operations: [
                EntityOperation(kind: EntityOperation.Kind.delete.rawValue, entity: Entity(partitionKey: "batch", rowKey: "row000"), ifMatch: "*"), rows[1],
            ]), a)
        }
        await expectCode(.invalidArgument, contains: "operation 0 has kind 7") {
            _ = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: tableName, operations: [EntityOperation(kind: 7, entity: Entity(partitionKey: "b", rowKey: "r"))]), a)
        }

        // Queries: a partition in pages of 30 with continuation, a filter, a bad filter, a moved token.
        var seen: [String] = [], token = "", pages = 0
        repeat {
            let page = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: tableName, filter: "PartitionKey eq 'batch' and N ge 5",
                                                                                             select: ["N"], top: 30, continuation: token), pages % 2 == 0 ? a : carol)
            seen += page.entities.map(\.rowKey)
            token = page.continuation
            pages += 1
        } while !token.isEmpty
        #expect(pages == 4 && seen == (5..<100).map { String(format: "row%03d", $0) })
        await expectCode(.invalidArgument, contains: "filter: at position 8: expected 'and', 'or' or the end of the filter, found 'N'") {
            _ = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: tableName, filter: "N ge 5 N"), a)
        }
        let first = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: tableName, top: 1), a)
        await expectCode(.invalidArgument, contains: "continuation token") {
            _ = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "race", continuation: first.continuation), a)
        }

        // Readers get, query and list; they do not write. Other accounts' callers nothing.
        await expectCode(.permissionDenied, contains: "accountOwner") {
            _ = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: "p", rowKey: "r")), carol)
        }
        await expectCode(.permissionDenied, contains: "accountOwner") { _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: "carols"), carol) }
        #expect(try await queueCall(c, TableMethod.listTables, TableListRequest(), carol).tables.count == 2)
        await expectCode(.permissionDenied) { _ = try await queueCall(c, TableMethod.listTables, TableListRequest(), bob.merging(["account": "acct-t"]) { $1 }) }

        // Two callers over two workers replace one entity with the same ETag, round after round: exactly one wins.
        var etag = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: "race", entity: Entity(partitionKey: "p", rowKey: "r")), a).etag
        for round in 0..<30 {
            let current = etag
            let winners = try await withThrowingTaskGroup(of: Entity?.self) { group in
                for side in 0..<2 {
                    group.addTask {
                        do {
                            return try await queueCall(c, round % 2 == 0 ? TableMethod.replaceEntity : TableMethod.mergeEntity, EntityRequest(table: "race",
                                entity: Entity(partitionKey: "p", rowKey: "r", properties: [Self.property("Side", .int32, int: Int64(side))]), ifMatch: current), a)
                        } catch let status as RPCStatus where status.code == .failedPrecondition && status.message.contains("not \(current)") {
                            return nil
                        }
                    }
                }
                var out: [Entity] = []
                for try await winner in group { if let winner { out.append(winner) } }
                return out
            }
            #expect(winners.count == 1, "round \(round): \(winners.count) winners")
            etag = try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: "race", partitionKey: "p", rowKey: "r"), a).etag
            #expect(winners.first?.etag == etag)
        }

        // Nothing of table names, keys, property names or values in clear in the storage.
        let stored = try await on.storedObjects()
        #expect(!stored.isEmpty)
        for marker in [tableName, secretKey, secretValue, secretName, "row042"] {
            for object in stored {
                #expect(!object.name.contains(marker), "\(object.name) shows \(marker)")
                #expect(!contains(object.bytes, Array(marker.utf8)), "\(object.name) contains \(marker)")
            }
        }

        // Revocation, as for queues: on a customer key, disabling it blocks table calls (a clear key error), enabling it brings them back.
        let mi = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "acct-t"), as: AccountInfo.self, metadata: alice).message.managedIdentity
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "cmkt")), as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "cmkt"), principalID: mi, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-t", keySource: "customer", keyID: "cmkt"),
                             as: AccountEncryption.self, metadata: alice)
        let kept = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: "kept", rowKey: "r")), a)
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkt")), as: KeyResponse.self, metadata: alice)
        let started = ContinuousClock.now
        var failure: RPCStatus?
        while failure == nil, ContinuousClock.now - started < .seconds(10) {
            do {
                _ = try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: tableName, partitionKey: "kept", rowKey: "r"), a)
                try await Task.sleep(for: .milliseconds(20))
            } catch let status as RPCStatus { failure = status }
        }
        print("table revocation took effect after \(ContinuousClock.now - started)")
        #expect([.failedPrecondition, .permissionDenied].contains(failure?.code) && failure?.message.contains("not accessible") == true, "\(String(describing: failure))")
        await expectCode(.failedPrecondition, contains: "not accessible") { _ = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: tableName), a) }
        await expectCode(.failedPrecondition, contains: "not accessible") {
            _ = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: tableName, entity: Entity(partitionKey: "p", rowKey: "late")), a)
        }
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkt")), as: KeyResponse.self, metadata: alice)
        try await eventually {
            let back = try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: tableName, partitionKey: "kept", rowKey: "r"), a)
            #expect(back.etag == kept.etag)
        }

        _ = try await queueCall(c, TableMethod.deleteTable, TableRequest(table: tableName), a)
        #expect(try await queueCall(c, TableMethod.listTables, TableListRequest(), a).tables.map(\.table) == ["race"])
    }

    func limitsAndErrors(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        try await cluster.waitForWorkers(count: 2)
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        for account in ["acct-l", "acct-m"] {
            _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: alice)
        }
        let a = alice.merging(["account": "acct-l"]) { $1 }, m = alice.merging(["account": "acct-m"]) { $1 }
        func insert(_ entity: Entity, _ metadata: [String: String]? = nil) async throws -> Entity {
            try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: "limits", entity: entity), metadata ?? a)
        }

        // Tables: list by prefix in pages; a missing table cannot be deleted.
        for name in ["limits", "limitsB", "limitsC", "other"] { _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: name), a) }
        _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: "limits"), m)
        let firstPage = try await queueCall(c, TableMethod.listTables, TableListRequest(prefix: "limits", pageSize: 2), a)
        #expect(firstPage.tables.map(\.table) == ["limits", "limitsB"] && !firstPage.continuation.isEmpty)
        let lastPage = try await queueCall(c, TableMethod.listTables, TableListRequest(prefix: "limits", pageSize: 2, continuation: firstPage.continuation), a)
        #expect(lastPage.tables.map(\.table) == ["limitsC"] && lastPage.continuation.isEmpty)
        await expectCode(.notFound, contains: "table 'nope' does not exist") { _ = try await queueCall(c, TableMethod.deleteTable, TableRequest(table: "nope"), a) }

        // Keys: 1 KiB is the limit for both; / \ # ? and control characters are refused.
        let longest = String(repeating: "k", count: 1024)
        _ = try await insert(Entity(partitionKey: longest, rowKey: longest))
        #expect(try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: "limits", partitionKey: longest, rowKey: longest), a).rowKey == longest)
        await expectCode(.invalidArgument, contains: "PartitionKey is 1025 bytes; at most 1024") { _ = try await insert(Entity(partitionKey: longest + "k", rowKey: "r")) }
        await expectCode(.invalidArgument, contains: "RowKey is 1025 bytes; at most 1024") { _ = try await insert(Entity(partitionKey: "p", rowKey: longest + "k")) }
        for bad in ["a\\b", "a#b", "a?b", "a\u{7}b"] {
            await expectCode(.invalidArgument, contains: "keys may not contain") { _ = try await insert(Entity(partitionKey: "p", rowKey: bad)) }
        }

        // Properties: 252 and 1 MiB encoded are the limits.
        let many = (0..<252).map { Self.property("P\($0)", .int32, int: Int64($0)) }
        #expect(try await insert(Entity(partitionKey: "p", rowKey: "many", properties: many)).properties.count == 252)
        await expectCode(.invalidArgument, contains: "at most 252 properties") {
            _ = try await insert(Entity(partitionKey: "p", rowKey: "toomany", properties: many + [Self.property("Extra", .bool, bool: true)]))
        }
        let nearly = try await insert(Entity(partitionKey: "p", rowKey: "big", properties: [Self.property("Blob", .binary, bytes: Array(repeating: 7, count: (1 << 20) - 64))]))
        #expect(try await queueCall(c, TableMethod.getEntity, EntityKeyRequest(table: "limits", partitionKey: "p", rowKey: "big"), a) == nearly)
        await expectCode(.invalidArgument, contains: "at most 1048576 (1 MiB)") {
            _ = try await insert(Entity(partitionKey: "p", rowKey: "huge", properties: [Self.property("Blob", .binary, bytes: Array(repeating: 7, count: 1 << 20))]))
        }

        // Conditional writes: a stale ETag fails, naming the current one; a missing entity is NOT_FOUND for the verbs that need it.
        let first = try await insert(Entity(partitionKey: "p", rowKey: "e"))
        let second = try await queueCall(c, TableMethod.mergeEntity, EntityRequest(table: "limits", entity: Entity(partitionKey: "p", rowKey: "e",
                                         properties: [Self.property("N", .int32, int: 1)]), ifMatch: first.etag), a)
        #expect(second.etag != first.etag && second.timestampUs >= first.timestampUs)  // every write: a new ETag, the Timestamp of its time (ms)
        await expectCode(.failedPrecondition, contains: "has ETag \(second.etag) now, not \(first.etag)") {
            _ = try await queueCall(c, TableMethod.deleteEntity, EntityRequest(table: "limits", entity: Entity(partitionKey: "p", rowKey: "e"), ifMatch: first.etag), a)
        }
        _ = try await queueCall(c, TableMethod.deleteEntity, EntityRequest(table: "limits", entity: Entity(partitionKey: "p", rowKey: "e"), ifMatch: second.etag), a)
        let gone = EntityRequest(table: "limits", entity: Entity(partitionKey: "p", rowKey: "e"), ifMatch: "*")
        for method in [TableMethod.replaceEntity, TableMethod.mergeEntity] {
            await expectCode(.notFound, contains: "does not exist in table 'limits'") { _ = try await queueCall(c, method, gone, a) }
        }
        await expectCode(.notFound, contains: "does not exist in table 'limits'") { _ = try await queueCall(c, TableMethod.deleteEntity, gone, a) }

        // Batches: every kind in one, a result each (none for the delete); more than 100, or two partitions, refused.
        let op = { (kind: EntityOperation.Kind, row: String, ifMatch: String) in
            EntityOperation(kind: kind.rawValue, entity: Entity(partitionKey: "b", rowKey: row, properties: [Self.property("K", .int32, int: Int64(kind.rawValue))]), ifMatch: ifMatch)
        }
        let seeded = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: "limits", operations: [
            op(.insert, "r1", ""), op(.insert, "r2", ""), op(.insert, "r3", ""),
        ]), a).results
        let mixed = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: "limits", operations: [
            op(.replace, "r1", seeded[0].etag), op(.merge, "r2", "*"), op(.delete, "r3", seeded[2].etag), op(.insertOrReplace, "r4", ""),
            op(.insertOrMerge, "r5", ""), op(.insert, "r6", ""),
        ]), a).results
        #expect(mixed.count == 6 && mixed.map(\.rowKey) == ["r1", "r2", "r3", "r4", "r5", "r6"] && mixed[2].etag.isEmpty)
        #expect(mixed.enumerated().allSatisfy { $0.offset == 2 || ($0.element.etag.count == 32 && $0.element.properties.count == 1) })
        let rows = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "limits", filter: "PartitionKey eq 'b'"), a).entities
        #expect(rows.map(\.rowKey) == ["r1", "r2", "r4", "r5", "r6"] && rows.map(\.etag) == mixed.filter { !$0.etag.isEmpty }.map(\.etag))
        await expectCode(.invalidArgument, contains: "a batch holds 1-100 operations, not 101") {
            _ = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: "limits", operations: (0..<101).map { op(.insert, "x\($0)", "") }), a)
        }
        await expectCode(.invalidArgument, contains: "a batch writes to one partition") {
            _ = try await queueCall(c, TableMethod.executeBatch, EntityBatchRequest(table: "limits", operations: [
                op(.insert, "y1", ""), EntityOperation(kind: EntityOperation.Kind.insert.rawValue, entity: Entity(partitionKey: "other", rowKey: "y2")),
            ]), a)
        }

        // Continuation tokens: refused for a table of the same name in another account, and for the table made again.
        let page = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "limits", top: 2), a)
        #expect(page.entities.count == 2 && !page.continuation.isEmpty)
        for i in 0..<3 { _ = try await insert(Entity(partitionKey: "p", rowKey: "m\(i)"), m) }
        await expectCode(.invalidArgument, contains: "continuation token") {
            _ = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "limits", top: 2, continuation: page.continuation), m)
        }
        _ = try await queueCall(c, TableMethod.deleteTable, TableRequest(table: "limits"), a)
        _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: "limits"), a)
        await expectCode(.invalidArgument, contains: "continuation token") {
            _ = try await queueCall(c, TableMethod.queryEntities, QueryEntitiesRequest(table: "limits", top: 2, continuation: page.continuation), a)
        }
    }
}
