import Foundation
import Testing
import AtRestRados
import AtRestTesting
import AtRestTestTraits

/// The librados wrapper against a real throwaway cluster (scripts/ceph-dev.sh,
/// memstore): every verb, the typed errors of failed conditions, and the aio
/// verbs (an unreachable or stopped cluster, a missing pool and missing
/// capabilities: RadosBadCaseTests).
@Suite(.serialized, .cephDevCluster) struct RadosTests {
    let ceph: CephDevCluster
    let pool: RadosPool

    init() throws {
        ceph = try #require(CephDevCluster.current, "the suite's cluster did not start")
        pool = try RadosCluster(ceph.configuration).openPool(ceph.pool)
    }

    func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString)" }

    @Test func writeFullReadRangeStatRemove() throws {
        let name = uniqueName("obj")
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try pool.writeFull(name, data)
        #expect(try pool.read(name, length: 200_000) == data)
        #expect(try pool.read(name, offset: 1000, length: 50) == Array(data[1000..<1050]))
        #expect(try pool.read(name, offset: 99_990, length: 50) == Array(data[99_990...]), "a range past the end is short")
        let stat = try pool.stat(name)
        #expect(stat.size == 100_000)
        #expect(stat.version > 0)
        #expect(abs(stat.modified - Int64(Date().timeIntervalSince1970)) < 60)

        try pool.writeFull(name, [1, 2, 3])
        #expect(try pool.read(name, length: 10) == [1, 2, 3], "write_full replaces, never leaves a tail")
        #expect(try pool.stat(name).version > stat.version)

        try pool.remove(name)
        #expect(throws: RadosError.Code.notFound) { try Self.code { _ = try pool.stat(name) } }
        #expect(throws: RadosError.Code.notFound) { try Self.code { _ = try pool.read(name, length: 1) } }
        #expect(throws: RadosError.Code.notFound) { try Self.code { try pool.remove(name) } }
    }

    @Test func omapPagesInKeyOrder() throws {
        let name = uniqueName("index")
        var entries: [String: [UInt8]] = [:]
        for i in 0..<25 { entries[String(format: "k%03d", i)] = i == 7 ? [] : [0, UInt8(i), 0xff] }
        try pool.setOmap(name, entries)
        var seen: [(key: String, value: [UInt8])] = []
        var after: String?
        var pages = 0
        repeat {
            let page = try pool.omapPage(name, after: after, max: 10)
            pages += 1
            seen += page.entries
            after = page.entries.last?.key
            if !page.more { break }
        } while pages < 10
        #expect(pages == 3)
        #expect(seen.map(\.key) == entries.keys.sorted())
        #expect(Dictionary(uniqueKeysWithValues: seen.map { ($0.key, $0.value) }) == entries, "binary and empty values round-trip")

        try pool.operate(name, RadosWriteOperation([.removeOmapKeys(["k000", "k024"])]))
        let rest = try pool.omapPage(name, max: 100)
        #expect(rest.more == false)
        #expect(rest.entries.count == 23)
        #expect(rest.entries.first?.key == "k001")
        #expect(throws: RadosError.Code.notFound) { try Self.code { _ = try pool.omapPage(uniqueName("absent")) } }
    }

    @Test func exclusiveCreateAndVersionAssertions() throws {
        let name = uniqueName("cond")
        let v1 = try pool.operate(name, RadosWriteOperation([.create(exclusive: true), .writeFull([1])]))
        #expect(throws: RadosError.Code.alreadyExists) {
            try Self.code { try pool.operate(name, RadosWriteOperation([.create(exclusive: true), .writeFull([9])])) }
        }
        #expect(try pool.stat(name).version == v1, "stat reports the version the write op returned")

        let v2 = try pool.operate(name, RadosWriteOperation([.assertVersion(v1), .writeFull([2])]))
        #expect(v2 > v1)
        #expect(throws: RadosError.Code.versionMismatch, "an older version (-ERANGE)") {
            try Self.code { try pool.operate(name, RadosWriteOperation([.assertVersion(v1), .writeFull([3])])) }
        }
        #expect(throws: RadosError.Code.versionMismatch, "a newer version (-EOVERFLOW)") {
            try Self.code { try pool.operate(name, RadosWriteOperation([.assertVersion(v2 + 1), .writeFull([3])])) }
        }
        #expect(try pool.read(name, length: 10) == [2], "a failed condition changes nothing")

        #expect(throws: RadosError.Code.notFound) {
            try Self.code { try pool.operate(uniqueName("absent"), RadosWriteOperation([.assertExists, .writeFull([1])])) }
        }
        try pool.operate(name, RadosWriteOperation([.assertVersion(v2), .remove]))
        #expect(throws: RadosError.Code.notFound) { try Self.code { _ = try pool.stat(name) } }
    }

    @Test func xattrCompareAndSet() throws {
        let name = uniqueName("xattr")
        try pool.operate(name, RadosWriteOperation([.writeFull([1]), .setXattr(name: "etag", value: [0xaa, 0x00, 0xbb])]))
        #expect(try pool.xattr(name, "etag") == [0xaa, 0x00, 0xbb])
        try pool.operate(name, RadosWriteOperation([.compareXattr(name: "etag", value: [0xaa, 0x00, 0xbb]), .writeFull([2]),
                                                     .setXattr(name: "etag", value: [0xcc])]))
        #expect(throws: RadosError.Code.comparisonFailed) {
            try Self.code {
                try pool.operate(name, RadosWriteOperation([.compareXattr(name: "etag", value: [0xaa, 0x00, 0xbb]), .writeFull([3])]))
            }
        }
        #expect(try pool.read(name, length: 10) == [2])
        #expect(try pool.xattr(name, "etag") == [0xcc])
        #expect(throws: RadosError.Code.notFound) { try Self.code { _ = try pool.xattr(name, "missing") } }
        #expect(throws: RadosError.Code.comparisonFailed, "comparing with an absent xattr fails the condition") {
            try Self.code { try pool.operate(name, RadosWriteOperation([.compareXattr(name: "missing", value: [1]), .writeFull([4])])) }
        }
    }

    /// The owner's release of a pool is its last one, in program order:
    /// neither a dispatch thread that ran a blocking call (connect, listing,
    /// a monitor command) nor librados' completion thread keeps a reference
    /// after the task resumes. Otherwise `rados_shutdown` ran on that thread
    /// whenever it let go, in `atrest-recover` while `exit()` tore down
    /// libceph-common, and crashed (RadosBlocking).
    @Test func theOwnersReleaseOfAPoolIsItsLast() async throws {
        let name = uniqueName("last-release")
        try await pool.writeFull(name, [1, 2, 3])
        var stillAlive = 0
        for _ in 0..<100 {
            weak var weakPool: RadosPool?
            weak var weakCluster: RadosCluster?
            do {
                let opened = try await RadosCluster.connect(ceph.configuration, pool: ceph.pool)
                weakPool = opened
                weakCluster = opened.cluster
                let names = try await opened.objectNames()
                let replicas = try await opened.cluster.replicaCount(ofPool: ceph.pool)
                let bytes = try await opened.read(name, length: 8)
                #expect(names.contains(name))
                #expect(replicas >= 1)
                #expect(bytes == [1, 2, 3])
            }
            if weakPool != nil || weakCluster != nil { stillAlive += 1 }
        }
        #expect(stillAlive == 0, "the pool or its cluster outlived its owner in \(stillAlive) of 100 rounds")
        try pool.remove(name)
    }

    @Test func aioWriteFullAndReadManyInFlight() async throws {
        let names = (0..<16).map { _ in uniqueName("aio") }
        let payloads = names.indices.map { i in [UInt8](repeating: UInt8(i), count: 1 << 20) + [UInt8(i)] }
        let pool = self.pool
        let versions = try await withThrowingTaskGroup(of: (Int, UInt64).self) { group in
            for i in names.indices { group.addTask { (i, try await pool.writeFull(names[i], payloads[i])) } }
            return try await group.reduce(into: [Int: UInt64]()) { $0[$1.0] = $1.1 }
        }
        let reads = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for i in names.indices { group.addTask { (i, try await pool.read(names[i], length: 2 << 20)) } }
            return try await group.reduce(into: [Int: [UInt8]]()) { $0[$1.0] = $1.1 }
        }
        for i in names.indices {
            #expect(reads[i] == payloads[i], "object \(i)")
            #expect(try pool.stat(names[i]).version == versions[i], "aio write_full returns the object's version")
        }
        #expect(try await pool.read(names[3], offset: 1 << 20, length: 100) == [3], "aio range read")
        await #expect(throws: RadosError.Code.notFound) { try await Self.code { _ = try await pool.read(uniqueName("absent"), length: 1) } }
        let v = try pool.stat(names[0]).version
        try await pool.operate(names[0], RadosWriteOperation([.assertVersion(v), .remove]))
        await #expect(throws: RadosError.Code.versionMismatch) {
            try await Self.code { try await pool.operate(names[1], RadosWriteOperation([.assertVersion(v + 1000), .remove])) }
        }
        for name in names.dropFirst() { try pool.remove(name) }
    }

    @Test func compoundReadsOmapComparisonsAndNamespaces() async throws {
        let name = uniqueName("readop")
        let v = try await pool.operate(name, RadosWriteOperation([.writeFull([1, 2, 3, 4, 5]), .setXattr(name: "h", value: [7])]))
        let result = try await pool.read(name, RadosReadOperation([.assertVersion(v), .stat, .xattrs, .read(offset: 1, length: 3)]))
        #expect(result.version == v && result.stat?.size == 5 && result.xattrs["h"] == [7] && result.data == [2, 3, 4])
        await #expect(throws: RadosError.Code.versionMismatch) {
            try await Self.code { _ = try await pool.read(name, RadosReadOperation([.assertVersion(v + 1), .read(offset: 0, length: 1)])) }
        }
        await #expect(throws: RadosError.Code.notFound) { try await Self.code { _ = try await pool.read(uniqueName("absent"), RadosReadOperation([.stat])) } }

        // The backend relies on this: an absent omap key compares equal to the empty value.
        let index = uniqueName("omapcmp")
        await #expect(throws: RadosError.Code.notFound, "on an object that does not exist, the comparison fails as not found") {
            try await Self.code { try await pool.operate(index, RadosWriteOperation([.compareOmap(key: "k", value: []), .setOmap(["k": [1]])])) }
        }
        try await pool.operate(index, RadosWriteOperation([.setOmap(["a1": [], "a2": [], "b1": []])]))
        try await pool.operate(index, RadosWriteOperation([.compareOmap(key: "k", value: []), .setOmap(["k": [1]])]))
        await #expect(throws: RadosError.Code.comparisonFailed) {
            try await Self.code { try await pool.operate(index, RadosWriteOperation([.compareOmap(key: "k", value: []), .setOmap(["k": [2]])])) }
        }
        try await pool.operate(index, RadosWriteOperation([.compareOmap(key: "k", value: [1]), .removeOmapKeys(["k"])]))
        let page = try await pool.read(index, RadosReadOperation([.omap(after: "a1", prefix: "a", max: 10)])).omap
        #expect(page == RadosOmapPage(entries: [("a2", [])], more: false))

        let namespace = uniqueName("ns")
        let spaced = try RadosCluster(ceph.configuration).openPool(ceph.pool, namespace: namespace)
        try await spaced.writeFull("inside", [1])
        #expect(try await spaced.objectNames() == ["inside"])
        #expect(try await !pool.objectNames().contains("inside"), "namespaces keep objects apart")
        await #expect(throws: RadosError.Code.notFound) { try await Self.code { _ = try await spaced.read(name, length: 1) } }
    }

    /// The error's code, so `#expect(throws: Code)` states which mapping is expected.
    static func code(_ body: () throws -> Void) throws {
        do { try body() } catch let error as RadosError { throw error.code }
    }

    static func code(_ body: () async throws -> Void) async throws {
        do { try await body() } catch let error as RadosError { throw error.code }
    }
}

extension RadosError.Code: Error {}
