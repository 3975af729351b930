import AtRestNBD
import Foundation
import Testing

/// The NBD server (`NBDServer`) against real NBD clients: nbdinfo,
/// qemu-img, nbdcopy and libnbd's Python binding (what nbdsh runs), over
/// loopback TCP, with a real file behind the export (`FileExport`).
@Suite(.serialized) struct NBDClientTests {
    @Test func nbdinfoShowsTheExportNameAndSize() async throws {
        try await NBDFixture.with(name: "disk-one", size: 16 << 20) { fixture in
            let info = try await Tools.succeed("nbdinfo", ["--json", fixture.uri], in: fixture.directory)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
            let exports = try #require(json["exports"] as? [[String: Any]])
            #expect(exports.count == 1)
            #expect(exports.first?["export-name"] as? String == "disk-one")
            #expect((exports.first?["export-size"] as? NSNumber)?.uint64Value == 16 << 20)
            #expect(exports.first?["is_read_only"] as? Bool == false)
            #expect(exports.first?["can_trim"] as? Bool == true)
            #expect(exports.first?["can_zero"] as? Bool == true)
            #expect(exports.first?["can_flush"] as? Bool == true)
            #expect(exports.first?["can_fua"] as? Bool == true)
            #expect(exports.first?["can_multi_conn"] as? Bool == true)
            #expect((exports.first?["block_size_minimum"] as? NSNumber)?.intValue == 512)

            // NBD_OPT_LIST names the export; an unknown name is refused.
            let list = try await Tools.succeed("nbdinfo", ["--list", "--json", "nbd://127.0.0.1:\(fixture.port)"], in: fixture.directory)
            #expect(list.stdout.contains("\"disk-one\""))
            let unknown = try await Tools.run("nbdinfo", ["nbd://127.0.0.1:\(fixture.port)/no-such-disk"], in: fixture.directory)
            #expect(unknown.status != 0, "\(unknown.transcript)")
        }
    }

    @Test func qemuImgConvertsARandomImageInAndOutByteExact() async throws {
        try await NBDFixture.with(size: 16 << 20) { fixture in
            let source = try fixture.randomFile("in.raw", size: 16 << 20)
            try await Tools.succeed("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source.path, fixture.uri], in: fixture.directory)
            #expect(try fixture.contents(fixture.export.path) == source.bytes, "the export's file differs from the image written")
            let out = fixture.directory + "/out.raw"
            try await Tools.succeed("qemu-img", ["convert", "-f", "raw", "-O", "raw", fixture.uri, out], in: fixture.directory)
            #expect(try fixture.contents(out) == source.bytes, "the image read back differs")
            let compare = try await Tools.run("qemu-img", ["compare", "-f", "raw", "-F", "raw", source.path, fixture.uri], in: fixture.directory)
            #expect(compare.status == 0, "\(compare.transcript)")
        }
    }

    @Test func nbdcopyStreamsTheExportBothWays() async throws {
        try await NBDFixture.with(size: 8 << 20) { fixture in
            let source = try fixture.randomFile("in.raw", size: 8 << 20)
            try await Tools.succeed("nbdcopy", ["--flush", source.path, fixture.uri], in: fixture.directory)
            let out = fixture.directory + "/copied.raw"
            try await Tools.succeed("nbdcopy", [fixture.uri, out], in: fixture.directory)
            #expect(try fixture.contents(out) == source.bytes)
            // Several connections at once (nbdcopy uses CAN_MULTI_CONN) and many requests in flight.
            let again = fixture.directory + "/copied-again.raw"
            try await Tools.succeed("nbdcopy", ["--connections=4", "--requests=32", "--request-size=65536", fixture.uri, again], in: fixture.directory)
            #expect(try fixture.contents(again) == source.bytes)
        }
    }

    /// libnbd (the library under nbdsh) drives random writes, reads, trims
    /// and write-zeroes of 512 B..1 MiB against a reference it keeps, then
    /// 64 concurrent requests (answered out of order); the export's file
    /// must equal the reference it saves.
    @Test func randomIOFromLibnbdMatchesAReference() async throws {
        try await NBDFixture.with(size: 24 << 20) { fixture in
            let reference = fixture.directory + "/reference.raw"
            let script = """
            import nbd, random, sys
            rnd = random.Random(\(UInt32.random(in: 0 ... .max)))
            h = nbd.NBD()
            h.connect_uri(sys.argv[1])
            size = h.get_size()
            assert size == 24 << 20, size
            assert h.get_block_size(nbd.SIZE_MINIMUM) == 512
            ref = bytearray(size)
            counts = {"write": 0, "read": 0, "trim": 0, "zero": 0}
            for i in range(400):
                length = rnd.randint(1, 2048) * 512
                offset = rnd.randrange(0, size - length + 1, 512)
                op = rnd.random()
                if op < 0.4:
                    data = rnd.randbytes(length)
                    h.pwrite(data, offset, flags=nbd.CMD_FLAG_FUA if rnd.random() < 0.2 else 0)
                    ref[offset:offset + length] = data
                    counts["write"] += 1
                elif op < 0.75:
                    got = h.pread(length, offset)
                    assert got == ref[offset:offset + length], f"read {offset}+{length} differs"
                    counts["read"] += 1
                elif op < 0.87:
                    h.trim(length, offset)
                    ref[offset:offset + length] = bytes(length)
                    counts["trim"] += 1
                else:
                    h.zero(length, offset, flags=nbd.CMD_FLAG_NO_HOLE if rnd.random() < 0.5 else 0)
                    ref[offset:offset + length] = bytes(length)
                    counts["zero"] += 1
            # 64 requests in flight at once on disjoint slots: writes, then reads.
            slot = size // 64
            writes = []
            for i in range(64):
                length = rnd.randint(1, slot // 512) * 512
                data = bytearray(rnd.randbytes(length))
                ref[i * slot:i * slot + length] = data
                writes.append(h.aio_pwrite(nbd.Buffer.from_bytearray(data), i * slot))
            while h.aio_in_flight() > 0:
                h.poll(-1)
            for cookie in writes:
                assert h.aio_command_completed(cookie)
            reads = []
            for i in range(64):
                buf = nbd.Buffer(slot)
                reads.append((buf, h.aio_pread(buf, i * slot), i))
            while h.aio_in_flight() > 0:
                h.poll(-1)
            for buf, cookie, i in reads:
                assert h.aio_command_completed(cookie)
                assert buf.to_bytearray() == ref[i * slot:(i + 1) * slot], f"aio read of slot {i} differs"
            h.flush()
            h.shutdown()
            assert min(counts.values()) > 10, counts
            open(sys.argv[2], "wb").write(ref)
            print(counts)
            """
            let scriptPath = fixture.directory + "/random_io.py"
            try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
            try await Tools.succeed("python3", [scriptPath, fixture.uri, reference], in: fixture.directory)
            #expect(try fixture.contents(fixture.export.path) == fixture.contents(reference))
        }
    }

    @Test func qemuIOWritesAndReadsPatterns() async throws {
        try await NBDFixture.with(size: 4 << 20) { fixture in
            let commands = ["write -P 0xab 0 1M", "write -P 0xcd 1536 4k", "write -z 2M 512k", "discard 3M 1M",
                            "read -P 0xab 0 1536", "read -P 0xcd 1536 4k", "read -P 0 2M 512k", "read -P 0 3M 1M", "flush"]
            let output = try await Tools.succeed("qemu-io", ["-f", "raw"] + commands.flatMap { ["-c", $0] } + [fixture.uri], in: fixture.directory)
            #expect(!output.stdout.contains("Pattern verification failed"), "\(output.transcript)")
            let file = try fixture.contents(fixture.export.path)
            #expect(file[0 ..< 1536].allSatisfy { $0 == 0xab })
            #expect(file[1536 ..< 1536 + 4096].allSatisfy { $0 == 0xcd })
            #expect(file[(1536 + 4096) ..< (1 << 20)].allSatisfy { $0 == 0xab })
        }
    }
}
