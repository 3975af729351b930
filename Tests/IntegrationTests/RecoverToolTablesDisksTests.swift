import AtRestClient
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// `atrest-recover` on tables and disks: written through the running
/// services (into `acct-c`, which is on a customer key), every service
/// stopped, then listed, verified and extracted; the `.jsonl` lines equal
/// what was written, the `.img` equals a reference built here (pages at
/// scattered offsets across regions, beyond 1 GiB, a partial last chunk)
/// and is sparse; one tampered chunk record and one tampered entity record
/// are reported (exit 3) while everything else is still extracted.
@Suite(.serialized) struct RecoverToolTablesDisksTests {
    static let account = "acct-c", disk = "vm-recover-okapi", gib: UInt64 = 1 << 30
    /// Not a multiple of 4 KiB: the last chunk ends at the disk's end.
    static let diskSize = 2 * gib + (1 << 20) + 1536

    static func property(_ name: String, _ kind: EntityProperty.Kind, string: String = "", int: Int64 = 0, double: Double = 0,
                         bool: Bool = false, bytes: [UInt8] = []) -> EntityProperty {
        EntityProperty(name: name, type: kind.rawValue, stringValue: string, intValue: int, doubleValue: double, boolValue: bool, bytesValue: bytes)
    }

    /// The line `--extract` must write for an entity, built here by hand from the documented format.
    static func line(_ entity: Entity, _ values: [String: String]) -> String {
        let properties = values.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        return "{\"PartitionKey\":\"\(entity.partitionKey)\",\"RowKey\":\"\(entity.rowKey)\",\"Timestamp\":\(entity.timestampUs),"
            + "\"properties\":{\(properties)}}"
    }

    /// Writes the tables and the disk; returns table → expected lines, and the disk's pages.
    static func fill(_ fixture: RecoveryFixture) async throws -> (tables: [String: Set<String>], pages: [(UInt64, [UInt8])]) {
        let cluster = fixture.cluster, c = cluster.client
        let m = try await cluster.login(tenant: "t1", "alice", "alice-secret-123456").merging(["account": account]) { $1 }
        var tables: [String: Set<String>] = [:]
        func insert(_ table: String, _ entity: Entity, _ values: [String: String]) async throws {
            let stored = try await queueCall(c, TableMethod.insertEntity, EntityRequest(table: table, entity: entity), m)
            tables[table, default: []].insert(line(stored, values))
        }
        for table in ["Inventory", "Empty1", "log2"] {
            _ = try await queueCall(c, TableMethod.createTable, TableRequest(table: table), m)
            tables[table] = []
        }
        let large = RecoveryFixture.content(300_000, seed: 9)  // over 128 KiB: the entity is stored in pieces
        try await insert("Inventory", Entity(partitionKey: "p1", rowKey: "r1", properties: [
            property("Name", .string, string: "wrench \"big\"\n\\"), property("Count", .int32, int: -7), property("Big", .int64, int: 1 << 40),
            property("Price", .double, double: 2.5), property("Active", .bool, bool: true), property("Made", .datetime, int: -86_400_000_000),
            property("Id", .guid, bytes: Array(0..<16)), property("Blob", .binary, bytes: [0, 255, 16]),
        ]), [
            "Name": #"{"type":"string","value":"wrench \"big\"\n\\"}"#, "Count": #"{"type":"int32","value":-7}"#,
            "Big": #"{"type":"int64","value":1099511627776}"#, "Price": #"{"type":"double","value":2.5}"#,
            "Active": #"{"type":"bool","value":true}"#, "Made": #"{"type":"datetime","value":-86400000000}"#,
            "Id": #"{"type":"guid","value":"00010203-0405-0607-0809-0a0b0c0d0e0f"}"#, "Blob": #"{"type":"binary","value":"AP8Q"}"#,
        ])
        try await insert("Inventory", Entity(partitionKey: "p1", rowKey: "r2"), [:])
        try await insert("Inventory", Entity(partitionKey: "p2 x", rowKey: "r3", properties: [property("Large", .binary, bytes: large)]),
                         ["Large": "{\"type\":\"binary\",\"value\":\"\(Data(large).base64EncodedString())\"}"])
        for i in 0..<3 {
            try await insert("log2", Entity(partitionKey: "day", rowKey: "e\(i)", properties: [property("Seq", .int64, int: Int64(i) - 1)]),
                             ["Seq": "{\"type\":\"int64\",\"value\":\(i - 1)}"])
        }

        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        let disks = DiskClient(ServiceClient(rpc: c, token: token), account: account)
        _ = try await disks.create(disk, size: diskSize)
        let pages: [(UInt64, [UInt8])] = [
            (0, RecoveryFixture.content(4096, seed: 1)),
            (8192 + 512, RecoveryFixture.content(1024, seed: 2)),  // inside one chunk: the rest of it reads as zeros
            (gib - 2048, RecoveryFixture.content(4096, seed: 3)),  // across the first region boundary
            (gib + gib / 2, RecoveryFixture.content(65536, seed: 4)),
            (diskSize - 512, RecoveryFixture.content(512, seed: 5)),  // the last page, in a chunk that ends at the disk's end
        ]
        for (offset, data) in pages { try await disks.putPages(disk, offset: offset, data: data) }
        return (tables, pages)
    }

    /// A sparse file of the disk's size with `pages` written, to compare the image with.
    static func reference(_ path: String, _ pages: [(UInt64, [UInt8])]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(ftruncate(fd, off_t(diskSize)) == 0)
        for (offset, data) in pages {
            try #require(data.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) } == data.count)
        }
    }

    static func lines(_ path: String) -> Set<String>? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return Set(String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
    }

    /// Flips one byte of the first record (by key) of the record map file `map`.
    static func tamper(_ map: String, in work: String) async throws {
        // `||` makes text of blobs: cast back, or the reader sees another type. Byte 61 is in the ciphertext (after the 37-byte header).
        let flip = "UPDATE records SET value = CAST(substr(value, 1, 60) || (CASE WHEN substr(value, 61, 1) = X'00' THEN X'01' ELSE X'00' END)"
            + " || substr(value, 62) AS BLOB) WHERE key = (SELECT min(key) FROM records);"
        let run = try await ClientTools.run("/usr/bin/sqlite3", [map, flip], in: work)
        try #require(run.status == 0, "\(run.transcript)")
    }

    @Test func tablesAndDisksVerifiedExtractedAndDamageReported() async throws {
        let fixture = try await RecoveryFixture.start(tag: "recover-td")
        defer { fixture.remove() }
        let (tables, pages) = try await Self.fill(fixture)
        fixture.stop()
        let work = try fixture.workDirectory()
        let dataDirectories = fixture.dataDirectories
        let before = try DataSnapshot(dataDirectories)
        func recover(_ extra: [String]) async throws -> ClientTools.Output { try await fixture.recover(extra, in: work, timeout: .seconds(300)) }
        let rootKeys = try fixture.rootKeys()
        let entityCount = tables.values.map(\.count).reduce(0, +)
        let a = Self.account, diskPath = "\(work)/out/\(a)/.disks/\(Self.disk).img", reference = work + "/reference.img"
        try Self.reference(reference, pages)
        let storedChunks = 21  // 0, 2 (the 1 KiB write), both sides of the boundary, 16 of the 64 KiB write, the last: 1 + 1 + 2 + 16 + 1
        let storedBytes = UInt64(20 * 4096) + (Self.diskSize % 4096)

        // List: tables, entities (opened: their keys are only in the sealed records), the disk and its size.
        let listed = try await recover([])
        #expect(listed.status == 0, "\(listed.transcript)")
        for table in tables.keys { #expect(listed.lines.contains("table \(a)/\(table)"), "\(listed.transcript)") }
        #expect(listed.lines.contains("entity \(a)/Inventory/p1/r1 properties=8") && listed.lines.contains("entity \(a)/Inventory/p2 x/r3 properties=1"),
                "\(listed.transcript)")
        #expect(listed.lines.contains("disk \(a)/\(Self.disk) size=\(Self.diskSize)"), "\(listed.transcript)")
        #expect(listed.fields("summary")?["tables"] == "3" && listed.fields("summary")?["entities"] == "\(entityCount)"
                && listed.fields("summary")?["disks"] == "1", "\(listed.transcript)")

        // Verify: every entity and every stored chunk opened.
        let verified = try await recover(["--verify"])
        #expect(verified.status == 0, "\(verified.transcript)")
        #expect(verified.lines.filter { $0.hasPrefix("good entity ") }.count == entityCount, "\(verified.transcript)")
        #expect(verified.lines.contains("good disk \(a)/\(Self.disk) chunks=\(storedChunks) bytes=\(storedBytes)"), "\(verified.transcript)")
        #expect(verified.fields("summary")?["damaged"] == "0", "\(verified.transcript)")

        // Extract: each table's lines as written; the image equal to the reference, and sparse.
        let extracted = try await recover(["--extract", work + "/out"])
        #expect(extracted.status == 0, "\(extracted.transcript)")
        for (table, expected) in tables {
            #expect(Self.lines("\(work)/out/\(a)/.tables/\(table).jsonl") == expected, "\(table)")
        }
        let compared = try await ClientTools.run("/usr/bin/cmp", [reference, diskPath], in: work)
        #expect(compared.status == 0, "\(compared.transcript)")
        var info = stat()
        #expect(stat(diskPath, &info) == 0 && UInt64(info.st_size) == Self.diskSize)
        #expect(info.st_blocks * 512 < 4 << 20, "\(info.st_blocks) blocks allocated: the image is not sparse")
        for run in [listed, verified, extracted] {
            for key in rootKeys { #expect(!run.stdout.contains(key) && !run.stderr.contains(key)) }
        }
        let after = try DataSnapshot(dataDirectories)
        #expect(after == before, "changed: \(after.changes(since: before))")

        // One chunk record and one entity record tampered: both reported, exit 3, the rest still extracted.
        let maps = try DataSnapshot.files(under: fixture.objectsDirectory + "/.records").filter { $0.hasSuffix(".sqlite") }
        let region1 = try #require(maps.first { ($0 as NSString).lastPathComponent.hasPrefix("k-") && $0.hasSuffix("-0001.sqlite") })
        try await Self.tamper(region1, in: work)
        var tamperedTable: String?
        for map in maps where (map as NSString).lastPathComponent.hasPrefix("t-") {
            let count = try await ClientTools.run("/usr/bin/sqlite3", [map, "SELECT count(*) FROM records;"], in: work)
            if count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3" { tamperedTable = map }  // Inventory or log2
        }
        try await Self.tamper(try #require(tamperedTable), in: work)
        let damaged = try await recover(["--extract", work + "/out2"])
        #expect(damaged.status == 3, "\(damaged.transcript)")
        let chunkLines = damaged.lines.filter { $0.hasPrefix("damaged chunk \(a)/\(Self.disk)/0001/") }
        #expect(chunkLines.count == 1 && chunkLines[0].contains("does not authenticate"), "\(damaged.transcript)")
        #expect(damaged.lines.filter { $0.hasPrefix("damaged entity \(a)/") && $0.contains("does not authenticate") }.count == 1,
                "\(damaged.transcript)")
        #expect(damaged.lines.contains("disk \(a)/\(Self.disk) chunks=\(storedChunks - 1) bytes=\(storedBytes - 4096) damaged-chunks=1"),
                "\(damaged.transcript)")
        #expect(damaged.fields("summary")?["damaged"] == "2" && damaged.fields("summary")?["entities"] == "\(entityCount)", "\(damaged.transcript)")
        var left = 0
        for (table, expected) in tables {
            let found = try #require(Self.lines("\(work)/out2/\(a)/.tables/\(table).jsonl"), "\(table)")
            #expect(found.isSubset(of: expected), "\(table)")
            left += expected.count - found.count
        }
        #expect(left == 1, "exactly the tampered entity is missing")
        // The damaged chunk (the first one of region 1) reads as zeros; everything else as written.
        let key = try #require(chunkLines.first.flatMap { $0.split(separator: "/")[3].split(separator: ":").first })
        let chunk = try #require(UInt64(key, radix: 16))
        #expect(chunk == Self.gib / 4096, "\(key)")
        let fd = open(reference, O_WRONLY)
        try #require(fd >= 0)
        let zeros = [UInt8](repeating: 0, count: 4096)
        #expect(zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress!, 4096, off_t(chunk * 4096)) } == 4096)
        close(fd)
        let comparedDamaged = try await ClientTools.run("/usr/bin/cmp", [reference, "\(work)/out2/\(a)/.disks/\(Self.disk).img"], in: work)
        #expect(comparedDamaged.status == 0, "\(comparedDamaged.transcript)")
    }

    /// The same on Ceph (record maps as omap): every entity and chunk
    /// verified, the tables and the image extracted as written.
    @Test func tablesAndDisksOnCeph() async throws {
        let ceph = try CephDevCluster.start()
        defer { try? ceph.stop() }
        let fixture = try await RecoveryFixture.start(tag: "recover-td-ceph", storage: ceph.clusterStorage())
        defer { fixture.remove() }
        let (tables, pages) = try await Self.fill(fixture)
        fixture.stop()
        let work = try fixture.workDirectory()
        let run = try await fixture.recover(["--extract", work + "/out"], in: work, ceph: ceph, timeout: .seconds(300))
        #expect(run.status == 0, "\(run.transcript)")
        let a = Self.account
        #expect(run.lines.filter { $0.hasPrefix("good entity ") }.count == tables.values.map(\.count).reduce(0, +), "\(run.transcript)")
        #expect(run.lines.contains { $0.hasPrefix("good disk \(a)/\(Self.disk) chunks=21 ") }, "\(run.transcript)")
        for (table, expected) in tables {
            #expect(Self.lines("\(work)/out/\(a)/.tables/\(table).jsonl") == expected, "\(table)")
        }
        try Self.reference(work + "/reference.img", pages)
        let compared = try await ClientTools.run("/usr/bin/cmp", [work + "/reference.img", "\(work)/out/\(a)/.disks/\(Self.disk).img"], in: work)
        #expect(compared.status == 0, "\(compared.transcript)")
    }
}
