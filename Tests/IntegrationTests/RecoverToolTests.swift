import AtRestRados
import AtRestTesting
import Foundation
import Testing

/// `atrest-recover` on a real cluster's data, with every service stopped:
/// every object verified and extracted byte-exact without a single change
/// to the data; a wrong or missing root key refused by name; a flipped
/// byte and a missing block file reported per blob while the rest reads on;
/// queue messages (claimed ones too) verified and extracted, swapped
/// message records reported.
@Suite(.serialized) struct RecoverToolTests {
    /// The blobs a run printed good (messages print "good message …").
    static func goodBlobs(_ run: ClientTools.Output) -> Int {
        run.lines.filter { $0.hasPrefix("good ") && !$0.hasPrefix("good message ") }.count
    }
    static func goodMessages(_ run: ClientTools.Output) -> Int { run.lines.filter { $0.hasPrefix("good message ") }.count }

    @Test func verifiesExtractsAndReportsDamage() async throws {
        let fixture = try await RecoveryFixture.start(tag: "recover")
        defer { fixture.remove() }
        fixture.stop()
        let work = try fixture.workDirectory()
        let dataDirectories = fixture.dataDirectories
        let before = try DataSnapshot(dataDirectories)
        func recover(_ extra: [String]) async throws -> ClientTools.Output { try await fixture.recover(extra, in: work) }
        let rootKeys = try fixture.rootKeys()
        func expectNoKeyMaterial(_ run: ClientTools.Output) {
            for key in rootKeys { #expect(!run.stdout.contains(key) && !run.stderr.contains(key)) }
        }

        // Everything good: every object read in full, every tag checked.
        let verified = try await recover(["--verify"])
        #expect(verified.status == 0, "\(verified.transcript)")
        #expect(Self.goodBlobs(verified) == fixture.blobCount, "\(verified.transcript)")
        #expect(Self.goodMessages(verified) == fixture.messageCount, "\(verified.transcript)")
        #expect(verified.fields("summary")?["objects"] == "\(fixture.blobCount)" && verified.fields("summary")?["damaged"] == "0"
                && verified.fields("summary")?["queues"] == "2" && verified.fields("summary")?["messages"] == "\(fixture.messageCount)",
                "\(verified.transcript)")
        #expect(verified.lines.contains { $0.hasPrefix("account acct-c key customer/") })
        expectNoKeyMaterial(verified)

        // Extract: every blob byte-exact, names %-encoded.
        let extracted = try await recover(["--extract", work + "/out"])
        #expect(extracted.status == 0, "\(extracted.transcript)")
        for (account, containers) in fixture.blobs {
            for (container, blobs) in containers {
                for (name, content) in blobs {
                    let encoded = name.replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(of: " ", with: "%20")
                    let file = "\(work)/out/\(account)/\(container)/\(encoded)"
                    #expect(FileManager.default.contents(atPath: file).map { [UInt8]($0) } == content, "\(file)")
                }
            }
        }
        for (account, queues) in fixture.messages {
            for (queue, messages) in queues {
                for (id, body) in messages {
                    let file = "\(work)/out/\(account)/.queues/\(queue)/\(id)"
                    #expect(FileManager.default.contents(atPath: file).map { [UInt8]($0) } == body, "\(file)")
                }
            }
        }
        let one = try await recover(["--verify", "--account", "acct-m"])
        let acctM = fixture.blobs["acct-m"]!.values.map(\.count).reduce(0, +)
        #expect(one.status == 0 && one.fields("summary")?["accounts"] == "1" && one.fields("summary")?["objects"] == "\(acctM)",
                "\(one.transcript)")
        let unknown = try await recover(["--verify", "--account", "nosuch"])
        #expect(unknown.status == 3 && unknown.lines.contains("damaged account nosuch: not in the registry"), "\(unknown.transcript)")
        let listed = try await recover([])
        #expect(listed.status == 0 && listed.lines.contains("blob acct-m/photos/one byte length=1"), "\(listed.transcript)")
        #expect(listed.lines.filter { $0.hasPrefix("message acct-m/tasks/") && $0.hasSuffix("dequeue-count=1") }.count == 1, "\(listed.transcript)")
        // Never into the data, and nothing in the data changed.
        let inside = try await recover(["--extract", fixture.objectsDirectory + "/restore"])
        #expect(inside.status == 1 && inside.stderr.contains("recovery never writes into the data"), "\(inside.transcript)")
        let after = try DataSnapshot(dataDirectories)
        #expect(after == before, "changed: \(after.changes(since: before))")

        // Two message records with their sealed values swapped: both reported, every other message reads.
        let map = try #require(try DataSnapshot.files(under: fixture.objectsDirectory + "/.records")
            .filter { $0.hasSuffix(".sqlite") && !$0.hasSuffix("/queues.sqlite") }.sorted().first)
        let swap = "CREATE TEMP TABLE s AS SELECT key, value FROM records ORDER BY key LIMIT 2;"
            + " UPDATE records SET value = (SELECT value FROM s WHERE s.key <> records.key) WHERE key IN (SELECT key FROM s);"
        let swapped = try await ClientTools.run("/usr/bin/sqlite3", [map, swap], in: work)
        try #require(swapped.status == 0, "\(swapped.transcript)")
        let messageDamage = try await recover(["--verify"])
        #expect(messageDamage.status == 3, "\(messageDamage.transcript)")
        #expect(messageDamage.lines.filter { $0.hasPrefix("damaged message ") && $0.contains("does not authenticate") }.count == 2,
                "\(messageDamage.transcript)")
        #expect(Self.goodMessages(messageDamage) == fixture.messageCount - 2 && Self.goodBlobs(messageDamage) == fixture.blobCount)
        #expect(messageDamage.fields("summary")?["damaged"] == "2", "\(messageDamage.transcript)")
        _ = try await ClientTools.run("/usr/bin/sqlite3", [map, swap], in: work)  // swapped back

        // Keys missing or wrong: refused, naming the file.
        let otherKey = work + "/other.key"
        FileManager.default.createFile(atPath: otherKey, contents: Data((String(repeating: "ab", count: 32) + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600])
        let wrongVault = try await recover(["--verify", "--vault-root-key-file", otherKey])
        #expect(wrongVault.status == 1, "\(wrongVault.transcript)")
        #expect(wrongVault.stderr.contains("the vault root key does not open providers/customer.state: wrong key or damaged file"),
                "\(wrongVault.transcript)")
        let wrongFrontDoor = try await recover(["--verify", "--frontdoor-root-key-file", otherKey])
        #expect(wrongFrontDoor.status == 1, "\(wrongFrontDoor.transcript)")
        #expect(wrongFrontDoor.stderr.contains("the front door root key does not open any of the 3 registry records"), "\(wrongFrontDoor.transcript)")
        let missing = try await recover(["--verify", "--vault-root-key-file", work + "/none.key"])
        #expect(missing.status == 1 && missing.stderr.contains("root key file '\(work)/none.key' is missing"), "\(missing.transcript)")
        for run in [wrongVault, wrongFrontDoor, missing] { expectNoKeyMaterial(run) }

        // A flipped byte in a segment: that blob is damaged, every other one still reads.
        let objects = try DataSnapshot.files(under: fixture.objectsDirectory)
        let largest = try #require(objects.filter { ($0 as NSString).lastPathComponent.hasPrefix("o-") }
            .max { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 < (try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0 })
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: largest)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: largest))
        let flipped = try await recover(["--verify"])
        #expect(flipped.status == 3, "\(flipped.transcript)")
        let damaged = flipped.lines.filter { $0.hasPrefix("damaged ") }
        #expect(damaged.count == 1 && damaged.first?.contains("/photos/dir/multi-segment.bin: ") == true, "\(flipped.transcript)")
        #expect(Self.goodBlobs(flipped) == fixture.blobCount - 1)
        #expect(flipped.fields("summary")?["damaged"] == "1")

        // A block file gone: its block list is damaged, the rest still reads.
        let block = try #require(objects.filter { ($0 as NSString).lastPathComponent.hasPrefix("s-") }.sorted().first)
        try FileManager.default.removeItem(atPath: block)
        let gone = try await recover(["--verify"])
        #expect(gone.status == 3, "\(gone.transcript)")
        #expect(gone.lines.contains { $0.hasPrefix("damaged ") && $0.contains("/docs/blocks.bin: ") }, "\(gone.transcript)")
        #expect(gone.fields("summary")?["damaged"] == "2" && Self.goodBlobs(gone) == fixture.blobCount - 2,
                "\(gone.transcript)")
        expectNoKeyMaterial(gone)

        // A registry without one account's record (the old backup guide's loss): its data is reported, not passed over.
        let records = try DataSnapshot.files(under: fixture.registryDirectory + "/registry").filter { ($0 as NSString).lastPathComponent.hasPrefix("r-") }
        try FileManager.default.moveItem(atPath: try #require(records.first), toPath: work + "/moved-record")
        let unclaimed = try await recover(["--verify"])
        #expect(unclaimed.status == 3, "\(unclaimed.transcript)")
        #expect(unclaimed.lines.filter { $0.hasPrefix("damaged store account a-") && $0.contains("no registry record opened it") }.count == 1,
                "\(unclaimed.transcript)")
        #expect(unclaimed.fields("summary")?["accounts"] == "2")
    }
}

extension RecoverToolTests {
    /// The same on Ceph: the registry in the pool, the objects in the pool;
    /// every object verified, and an account whose record is gone reported.
    @Test func verifiesEveryObjectOnCeph() async throws {
        let ceph = try CephDevCluster.start()
        defer { try? ceph.stop() }
        let fixture = try await RecoveryFixture.start(tag: "recover-ceph", storage: ceph.clusterStorage())
        defer { fixture.remove() }
        fixture.stop()
        let work = try fixture.workDirectory()
        func recover() async throws -> ClientTools.Output { try await fixture.recover(["--verify"], in: work, ceph: ceph) }
        let verified = try await recover()
        #expect(verified.status == 0, "\(verified.transcript)")
        #expect(Self.goodBlobs(verified) == fixture.blobCount && Self.goodMessages(verified) == fixture.messageCount, "\(verified.transcript)")
        #expect(verified.fields("summary")?["objects"] == "\(fixture.blobCount)" && verified.fields("summary")?["damaged"] == "0")

        let pool = try RadosCluster(ceph.configuration).openPool(ceph.pool)
        let record = try #require(try await pool.objectNames().filter { $0.hasPrefix("registry/r-") }.sorted().first)
        try pool.remove(record)
        let unclaimed = try await recover()
        #expect(unclaimed.status == 3, "\(unclaimed.transcript)")
        #expect(unclaimed.lines.filter { $0.hasPrefix("damaged store account \(ceph.pool)/a-") }.count == 1, "\(unclaimed.transcript)")
    }
}

/// Every file under some directories with its size, change time and inode:
/// equal snapshots mean nothing was created, removed, written or replaced.
struct DataSnapshot: Equatable {
    var files: [String: [Int]]

    init(_ directories: [String]) throws {
        files = [:]
        for directory in directories {
            for path in try Self.files(under: directory) + [directory] {
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                files[path] = [Int(info.st_size), Int(info.st_ctim.tv_sec), Int(info.st_ctim.tv_nsec), Int(info.st_mtim.tv_nsec), Int(info.st_ino)]
            }
        }
    }

    func changes(since other: DataSnapshot) -> [String] {
        Set(files.keys).union(other.files.keys).filter { files[$0] != other.files[$0] }.sorted()
    }

    static func files(under directory: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: directory).map { "\(directory)/\($0)" }
    }
}
