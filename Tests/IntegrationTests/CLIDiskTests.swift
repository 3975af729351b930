import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The `atrest disk` verbs against the real processes (through the front
/// door only): a 16 MiB image with holes imported sparse and exported
/// byte-exact, page ranges, resizes, roles and tenants, no plaintext in the
/// data directory; and the wire's refusals of malformed page calls.
@Suite("CLI disk verbs with a real cluster", .serialized)
struct CLIDiskTests {
    @Test func diskVerbs() async throws {
        let users = try await CLIUsers.start(readerOf: "d-acct")
        let cluster = users.cluster
        defer { cluster.stop() }
        func atrest(_ args: [String], as user: String = "alice") async throws -> (status: Int32, out: String, err: String) {
            try await users.atrest(args, as: user)
        }
        let record = CLIUsers.record, rows = CLIUsers.rows
        #expect(try await atrest(["account", "create", "d-acct"]).status == 0)

        // Create: sizes with units, metadata, the rules (exit 2), duplicates (exit 6).
        let diskName = "vm-disk-quokka-4471", secretMeta = "disk-meta-axolotl-8812"
        let created = record(try await atrest(["disk", "create", "d-acct/\(diskName)", "--size", "16MiB", "--metadata", "owner=\(secretMeta)", "--json"]).out)
        #expect(created["size"] as? Int == 16 << 20 && created["metadata"] as? String == "owner=\(secretMeta)", "\(created)")
        #expect(try await atrest(["disk", "create", "d-acct/\(diskName)", "--size", "1MiB"]).status == 6)
        #expect(try await atrest(["disk", "create", "d-acct/Bad_Name", "--size", "1MiB"]).status == 2)
        let misaligned = try await atrest(["disk", "create", "d-acct/odd-size", "--size", "1000"])
        #expect(misaligned.status == 2 && misaligned.err.contains("multiple of 512"), "\(misaligned.err)")
        #expect(try await atrest(["disk", "create", "d-acct/too-big", "--size", "5TiB"]).status == 2)
        #expect(try await atrest(["disk", "create", "d-acct/no-size", "--size", "lots"]).status == 2)
        #expect(try await atrest(["disk", "create", "just-a-disk", "--size", "1MiB"]).status == 2, "no account named")
        #expect(try await atrest(["disk", "create", "scratch", "--size", "4KiB", "--account", "d-acct"]).status == 0, "DISK with --account")

        // A 16 MiB image: random bytes, a marker page, and holes (4 KiB-aligned
        // zero runs, one of them across the 4 MiB boundary of the import's calls).
        let marker = Array("plaintext-marker-okapi-7731 ".utf8)
        var image = [UInt8](repeating: 0, count: 16 << 20)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in image.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            image[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        for page in 0..<8 { image.replaceSubrange(5000 + page * 512..<5000 + page * 512 + marker.count, with: marker) }
        let holes: [Range<Int>] = [(1 << 20)..<(3 << 20), (4 << 20) - 8192..<(4 << 20) + 12288, (9 << 20) + 4096..<(9 << 20) + 8192,
                                   (16 << 20) - (1 << 20)..<(16 << 20)]
        for hole in holes { image.replaceSubrange(hole, with: repeatElement(0, count: hole.count)) }
        let holeBytes = holes.reduce(0) { $0 + $1.count }
        let source = "\(cluster.root)/image.raw"
        try Data(image).write(to: URL(fileURLWithPath: source))

        // Import (sparse: the holes are not sent), export, byte-exact.
        let imported = try await atrest(["disk", "import", source, "d-acct/\(diskName)", "--parallelism", "3", "--json"])
        #expect(imported.status == 0, "\(imported.err)")
        let summary = record(imported.out)
        #expect(summary["length"] as? Int == image.count && summary["zeros"] as? Int == holeBytes
                && summary["written"] as? Int == image.count - holeBytes, "\(summary)")
        #expect(!imported.err.contains("\r"), "no progress bar when stderr is not a terminal")
        let exported = "\(cluster.root)/exported.raw"
        let export = try await atrest(["disk", "export", "d-acct/\(diskName)", exported, "--json"])
        #expect(export.status == 0, "\(export.err)")
        #expect(record(export.out)["read"] as? Int == image.count - holeBytes)
        #expect(try Data(contentsOf: URL(fileURLWithPath: exported)) == Data(image), "export is byte-exact")

        // Page ranges: exactly the complement of the holes.
        func ranges(_ extra: [String] = [], as user: String = "alice") async throws -> [[Int]] {
            rows(try await atrest(["disk", "ranges", "d-acct/\(diskName)", "--json"] + extra, as: user).out).map {
                [$0["offset"] as? Int ?? -1, $0["length"] as? Int ?? -1]
            }
        }
        var expected: [[Int]] = [], at = 0
        for hole in holes {
            if hole.lowerBound > at { expected.append([at, hole.lowerBound - at]) }
            at = hole.upperBound
        }
        if at < image.count { expected.append([at, image.count - at]) }
        #expect(try await ranges() == expected)
        #expect(try await ranges(["--offset", "2MiB", "--length", "3MiB"]) == [[3 << 20, (1 << 20) - 8192], [(4 << 20) + 12288, (1 << 20) - 12288]],
                "a window cuts the ranges")
        let shown = record(try await atrest(["disk", "show", "d-acct/\(diskName)", "--json"]).out)
        #expect(shown["size"] as? Int == 16 << 20 && shown["written"] as? Int == image.count - holeBytes, "\(shown)")

        // Import into a disk that holds data: the zero runs are cleared, so the disk equals the file again.
        let ones = "\(cluster.root)/ones.raw"
        try Data(repeating: 0x5A, count: image.count).write(to: URL(fileURLWithPath: ones))
        #expect(try await atrest(["disk", "import", ones, "d-acct/\(diskName)"]).status == 0)
        #expect(try await ranges() == [[0, image.count]])
        #expect(try await atrest(["disk", "import", source, "d-acct/\(diskName)"]).status == 0)
        #expect(try await ranges() == expected)
        #expect(try await atrest(["disk", "export", "d-acct/\(diskName)", exported]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: exported)) == Data(image), "zeros cleared over older data")
        let tooLarge = try await atrest(["disk", "import", source, "d-acct/scratch"])
        #expect(tooLarge.status == 2 && tooLarge.err.contains("resize"), "\(tooLarge.err)")

        // A new disk from a file (--create: the file's size rounded up to 512), byte-exact back.
        let odd = "\(cluster.root)/odd.raw"
        try Data(image.prefix(100_000)).write(to: URL(fileURLWithPath: odd))
        #expect(try await atrest(["disk", "import", odd, "d-acct/from-file", "--create"]).status == 0)
        #expect(record(try await atrest(["disk", "show", "d-acct/from-file", "--json"]).out)["size"] as? Int == 100_352)
        #expect(try await atrest(["disk", "export", "d-acct/from-file", exported]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: exported)) == Data(image.prefix(100_000) + [UInt8](repeating: 0, count: 352)))
        #expect(try await atrest(["disk", "import", odd, "d-acct/from-file", "--create"]).status == 6, "--create on an existing disk")

        // Resize: grow (zeros beyond), shrink (pages beyond dropped).
        #expect(record(try await atrest(["disk", "resize", "d-acct/\(diskName)", "--size", "24MiB", "--json"]).out)["size"] as? Int == 24 << 20)
        #expect(try await atrest(["disk", "export", "d-acct/\(diskName)", exported]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: exported)) == Data(image + [UInt8](repeating: 0, count: 8 << 20)))
        #expect(try await atrest(["disk", "resize", "d-acct/\(diskName)", "--size", "6MiB"]).status == 0)
        #expect(try await ranges() == expected.filter { $0[0] < 6 << 20 }.map { [$0[0], min($0[1], (6 << 20) - $0[0])] })
        #expect(try await atrest(["disk", "resize", "d-acct/\(diskName)", "--size", "16MiB"]).status == 0)
        #expect(try await atrest(["disk", "export", "d-acct/\(diskName)", exported]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: exported)) == Data(image.prefix(6 << 20) + [UInt8](repeating: 0, count: 10 << 20)),
                "shrunk pages do not come back when the disk grows again")
        #expect(try await atrest(["disk", "resize", "d-acct/\(diskName)", "--size", "1001"]).status == 2)

        // A reader reads (show, ranges, export, ls), writes nothing (exit 4).
        #expect(try await atrest(["disk", "show", "d-acct/\(diskName)"], as: "carol").status == 0)
        #expect(try await ranges(as: "carol") == expected.filter { $0[0] < 6 << 20 }.map { [$0[0], min($0[1], (6 << 20) - $0[0])] })
        let readerCopy = "\(cluster.root)/reader.raw"
        #expect(try await atrest(["disk", "export", "d-acct/\(diskName)", readerCopy], as: "carol").status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: readerCopy)) == Data(contentsOf: URL(fileURLWithPath: exported)))
        #expect(try await atrest(["disk", "ls", "d-acct"], as: "carol").out.contains(diskName))
        let readerWrite = try await atrest(["disk", "import", source, "d-acct/\(diskName)"], as: "carol")
        #expect(readerWrite.status == 4 && readerWrite.err.contains("accountOwner"), "\(readerWrite.err)")
        for verb in [["resize", "d-acct/\(diskName)", "--size", "1MiB"], ["delete", "d-acct/\(diskName)"],
                     ["create", "d-acct/readers-own", "--size", "1MiB"], ["set-metadata", "d-acct/\(diskName)", "a=b"]] {
            #expect(try await atrest(["disk"] + verb, as: "carol").status == 4, "reader: \(verb)")
        }

        // Another tenant's user reads nothing and lists nothing.
        for verb in [["show", "d-acct/\(diskName)"], ["ranges", "d-acct/\(diskName)"], ["export", "d-acct/\(diskName)", "\(cluster.root)/dave.raw"],
                     ["ls", "d-acct"], ["delete", "d-acct/\(diskName)"]] {
            let denied = try await atrest(["disk"] + verb, as: "dave")
            #expect(denied.status == 4 && denied.err.contains("no access"), "other tenant: \(verb): \(denied.err)")
        }
        let daveCopy = FileManager.default.contents(atPath: "\(cluster.root)/dave.raw") ?? Data()
        #expect(daveCopy.isEmpty, "nothing of the disk reached another tenant's file")

        // The wire refuses malformed page calls with INVALID_ARGUMENT; the service stays up.
        let alice = try await cluster.login(tenant: "t1", "alice", "alice-secret-123456").merging(["account": "d-acct"]) { $1 }
        func refused(_ method: String, _ request: some WireMessage, parts: [PayloadPart] = [], contains text: String) async {
            do {
                _ = try await cluster.client.call(method, request: request, as: EmptyMessage.self, parts: parts, metadata: alice)
                Issue.record("\(method) was accepted")
            } catch let status as RPCStatus {
                #expect(status.code == .invalidArgument && status.message.contains(text), "\(method): \(status)")
            } catch {
                Issue.record("\(method): \(error)")
            }
        }
        await refused(DiskMethod.putPages.name, PutPagesRequest(disk: diskName, offset: 0), parts: [PayloadPart([UInt8](repeating: 1, count: 513))],
                      contains: "multiples of 512")
        await refused(DiskMethod.putPages.name, PutPagesRequest(disk: diskName, offset: 100), parts: [PayloadPart([UInt8](repeating: 1, count: 512))],
                      contains: "multiples of 512")
        await refused(DiskMethod.putPages.name, PutPagesRequest(disk: diskName, offset: 16 << 20), parts: [PayloadPart([UInt8](repeating: 1, count: 512))],
                      contains: "beyond the disk's end")
        await refused(DiskMethod.putPages.name, PutPagesRequest(disk: diskName, offset: 0), contains: "1 byte to 4 MiB")
        await refused(DiskMethod.putPages.name, PutPagesRequest(disk: diskName, offset: 0),
                      parts: [PayloadPart([UInt8](repeating: 1, count: 4 << 20)), PayloadPart([UInt8](repeating: 1, count: 512))], contains: "4 MiB")
        await refused(DiskMethod.getPages.name, DiskRangeRequest(disk: diskName, offset: 0, length: (4 << 20) + 1), contains: "4 MiB")
        await refused(DiskMethod.getPages.name, DiskRangeRequest(disk: diskName, offset: (16 << 20) - 10, length: 11), contains: "beyond the disk's end")
        await refused(DiskMethod.clearPages.name, DiskRangeRequest(disk: diskName, offset: 512, length: 100), contains: "multiples of 512")
        await refused(DiskMethod.getDiskProperties.name, DiskRequest(disk: "x"), contains: "disk")
        // Unaligned reads are fine; the pages written above are there.
        let read = try await cluster.client.call(DiskMethod.getPages.name, request: DiskRangeRequest(disk: diskName, offset: 4999, length: 30),
                                                 as: GetPagesResponse.self, metadata: alice)
        #expect(read.message.length == 30 && read.parts.joined() == Array(image[4999..<5029]))

        // Nothing of names, metadata or page contents in clear in the data directory.
        #expect(try await atrest(["disk", "set-metadata", "d-acct/\(diskName)", "owner=\(secretMeta)"]).status == 0)
        let stored = cluster.allFiles().filter { !$0.hasSuffix(".log") && !$0.contains("/identity/") && !$0.contains("/vault/") && !$0.contains("/cli-") }
        #expect(stored.contains { $0.hasPrefix(cluster.objectsDirectory) })
        for file in stored where !file.hasSuffix(".raw") && !file.hasSuffix(".secret") {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            for text in [String(decoding: marker, as: UTF8.self), diskName, secretMeta] {
                #expect(!file.contains(text), "\(file) shows \(text)")
                #expect(!contains(bytes, Array(text.utf8)), "\(file) contains \(text)")
            }
            #expect(!contains(bytes, Array(image[(5 << 20)..<(5 << 20) + 64])), "\(file) holds image bytes in clear")
        }

        // Delete: gone from the listing, NOT_FOUND after (exit 3).
        #expect(try await atrest(["disk", "delete", "d-acct/\(diskName)"]).status == 0)
        #expect(try await atrest(["disk", "show", "d-acct/\(diskName)"]).status == 3)
        #expect(try await atrest(["disk", "delete", "d-acct/\(diskName)"]).status == 3)
        let listed = rows(try await atrest(["disk", "ls", "d-acct", "--json"]).out).compactMap { $0["disk"] as? String }
        #expect(listed == ["from-file", "scratch"], "\(listed)")
        #expect(rows(try await atrest(["disk", "ls", "d-acct", "--prefix", "scr", "--json"]).out).compactMap { $0["disk"] as? String } == ["scratch"])
    }
}
