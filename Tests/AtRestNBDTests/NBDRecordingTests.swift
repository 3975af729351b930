import AtRestNBD
import Foundation
import Testing

/// Real clients' bytes: nbdinfo, qemu-img, qemu-io and libnbd talk to the
/// server through a recording proxy (Python, in one script with the
/// clients), then each recorded client stream is replayed through a fresh
/// `NBDSession`, whole and one byte at a time. These streams are also
/// fuzz-nbd's seeds: with ATREST_NBD_SEEDS=DIR (scripts/fuzz.sh --seeds)
/// they are written there as `recorded-<client>`, behind fuzz-nbd's
/// setting byte (docs/FUZZING.md).
@Suite(.serialized) struct NBDRecordingTests {
    static let script = #"""
    import nbd, os, random, socket, subprocess, sys, threading
    upstream, out = int(sys.argv[1]), sys.argv[2]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    label, captures, pumps = ["none"], [], []

    def pump(source, target, record):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            if record is not None:
                record.extend(data)
            try:
                target.sendall(data)
            except OSError:
                break
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", upstream))
            record = bytearray()
            captures.append((label[0], record))
            reader = threading.Thread(target=pump, args=(client, server, record))
            reader.start()
            pumps.append(reader)
            threading.Thread(target=pump, args=(server, client, None), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    uri = f"nbd://127.0.0.1:{port}/disk"

    def settle():
        for thread in list(pumps):
            thread.join()

    def tool(name, *args):
        label[0] = name
        result = subprocess.run(list(args), check=True, capture_output=True, text=True)
        assert "verification failed" not in result.stdout, result.stdout
        settle()

    tool("nbdinfo", "nbdinfo", "--json", uri)
    tool("nbdinfo-list", "nbdinfo", "--list", "--json", f"nbd://127.0.0.1:{port}")
    tool("qemu-img-info", "qemu-img", "info", "--output=json", uri)
    tool("qemu-io", "qemu-io", "-f", "raw", "-c", "write -P 0xab 0 4k", "-c", "write -f -P 0xcd 4k 4k", "-c", "write -z 8k 4k",
         "-c", "discard 16k 4k", "-c", "read -P 0xab 0 4k", "-c", "read -P 0xcd 4k 4k", "-c", "read -P 0 8k 4k", "-c", "flush", uri)
    image = os.path.join(out, "image.raw")
    with open(image, "wb") as f:
        f.write(random.Random(7).randbytes(32 << 10))
    tool("qemu-img-convert", "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", image, uri)

    # libnbd, option by option: LIST, INFO for an unknown and a known export, GO, then every command.
    label[0] = "libnbd"
    h = nbd.NBD()
    h.set_opt_mode(True)
    h.connect_tcp("127.0.0.1", str(port))
    names = []
    h.opt_list(lambda name, description: names.append(name))
    assert names == ["disk"], names
    h.set_export_name("nope")
    try:
        h.opt_info()
        raise AssertionError("INFO for an unknown export succeeded")
    except nbd.Error:
        pass
    h.set_export_name("disk")
    h.opt_info()
    h.opt_go()
    assert h.get_size() == 1 << 20 and h.get_block_size(nbd.SIZE_MINIMUM) == 512
    data = random.Random(8).randbytes(8192)
    h.pwrite(data, 65536, flags=nbd.CMD_FLAG_FUA)
    assert h.pread(8192, 65536) == data
    h.trim(4096, 65536)
    h.zero(4096, 69632, flags=nbd.CMD_FLAG_NO_HOLE)
    assert h.pread(8192, 65536) == bytes(8192)
    buffers = [nbd.Buffer(4096) for _ in range(8)]
    cookies = [h.aio_pread(buffer, i * 4096) for i, buffer in enumerate(buffers)]
    while h.aio_in_flight() > 0:
        h.poll(-1)
    assert all(h.aio_command_completed(cookie) for cookie in cookies)
    h.flush()
    h.shutdown()
    del h
    settle()

    # A client that does not ask for block sizes: GO is refused (the export needs 512-byte requests).
    label[0] = "libnbd-no-block-size"
    h = nbd.NBD()
    h.set_request_block_size(False)
    try:
        h.connect_uri(uri)
        raise AssertionError("GO without block sizes succeeded")
    except nbd.Error:
        pass
    del h
    settle()

    listener.close()
    counts = {}
    for name, record in captures:
        counts[name] = counts.get(name, 0) + 1
        with open(os.path.join(out, f"capture-{name}-{counts[name]}"), "wb") as f:
            f.write(record)
    print(sorted(counts.items()))
    """#

    @Test func realClientsStreamsReplayThroughTheSession() async throws {
        try await NBDFixture.with(name: "disk", size: 1 << 20) { fixture in
            let scriptPath = fixture.directory + "/record.py"
            try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
            let captures = fixture.directory + "/captures"
            try FileManager.default.createDirectory(atPath: captures, withIntermediateDirectories: true)
            try await Tools.succeed("python3", [scriptPath, String(fixture.port), captures], in: fixture.directory)

            let names = try FileManager.default.contentsOfDirectory(atPath: captures).filter { $0.hasPrefix("capture-") }.sorted()
            for client in ["nbdinfo", "nbdinfo-list", "qemu-img-info", "qemu-io", "qemu-img-convert", "libnbd", "libnbd-no-block-size"] {
                #expect(names.contains { $0.hasPrefix("capture-\(client)-") }, "no connection recorded for \(client): \(names)")
            }
            let export = SizedExport(name: "disk", bytes: 1 << 20)
            var requests = 0
            for name in names {
                let stream = try fixture.contents(captures + "/" + name)
                let steps = await runSession(stream, exports: [export])
                #expect(await runSession(stream, exports: [export], piece: 1) == steps, "\(name): fed one byte at a time")
                // Real clients break no rule: nothing refused, and each ends with NBD_OPT_ABORT or NBD_CMD_DISC.
                #expect(!steps.contains { if case .refuse = $0 { true } else { false } }, "\(name): \(steps)")
                #expect(steps.last == .close(nil), "\(name) does not end cleanly: \(steps)")
                let transmits = steps.contains(.transmit("disk", 1 << 20))
                #expect(transmits == !(name.contains("-list-") || name.contains("no-block-size")), "\(name): \(steps)")
                requests += steps.filter { if case .request = $0 { true } else { false } }.count
            }
            #expect(requests > 20, "the recorded clients sent \(requests) requests")

            if let seeds = ProcessInfo.processInfo.environment["ATREST_NBD_SEEDS"] {
                for name in names {
                    // Setting byte 0 (fuzz-nbd): default limits, every export.
                    let seed = [UInt8(0)] + (try fixture.contents(captures + "/" + name))
                    let file = seeds + "/recorded-" + name.dropFirst("capture-".count)
                    try Data(seed).write(to: URL(fileURLWithPath: file))
                }
            }
        }
    }
}
