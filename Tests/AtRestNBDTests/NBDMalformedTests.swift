import AtRestNBD
import AtRestSockets
import Foundation
import Testing

/// Bytes no well-behaved client sends, over a raw socket: each gets an
/// error reply or a closed connection, and the server goes on serving the
/// next client (checked with nbdinfo, a real client, after each).
@Suite(.serialized) struct NBDMalformedTests {
    /// The server still serves: nbdinfo reads the size.
    func stillServes(_ fixture: NBDFixture) async throws {
        let output = try await Tools.succeed("nbdinfo", ["--size", fixture.uri], in: fixture.directory)
        #expect(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(try await fixture.export.size))
    }

    @Test func badOptionMagicClosesTheConnection() async throws {
        try await NBDFixture.with { fixture in
            let client = try await RawNBDClient.connect(port: fixture.port)
            try await client.connection.writeAll([UInt8](repeating: 0x41, count: 16))
            #expect(await client.isClosedByServer())
            try await stillServes(fixture)
        }
    }

    @Test func clientsWithoutFixedNewstyleOrWithUnknownFlagsAreClosed() async throws {
        try await NBDFixture.with { fixture in
            for flags: UInt32 in [0, NBDWire.clientFlagFixedNewstyle | 0x80] {
                let client = try await RawNBDClient.connect(port: fixture.port, flags: flags)
                #expect(await client.isClosedByServer())
            }
            try await stillServes(fixture)
        }
    }

    @Test func optionErrorsAreRepliedAndTheHandshakeGoesOn() async throws {
        try await NBDFixture.with(name: "named") { fixture in
            let client = try await RawNBDClient.connect(port: fixture.port)
            // An option the server does not support: NBD_REP_ERR_UNSUP.
            try await client.sendOption(NBDOption.structuredReply.rawValue, [])
            #expect(try await client.readOptionReply().type == NBDReplyType.errUnsupported.rawValue)
            try await client.sendOption(4242, [1, 2, 3])
            #expect(try await client.readOptionReply().type == NBDReplyType.errUnsupported.rawValue)
            // NBD_OPT_LIST with data, a malformed NBD_OPT_INFO, an unknown export.
            try await client.sendOption(NBDOption.list.rawValue, [0])
            #expect(try await client.readOptionReply().type == NBDReplyType.errInvalid.rawValue)
            try await client.sendOption(NBDOption.info.rawValue, [0, 0, 0, 200, 0x61])
            #expect(try await client.readOptionReply().type == NBDReplyType.errInvalid.rawValue)
            try await client.sendOption(NBDOption.go.rawValue, NBDExportRequest(name: "other", requests: [3]).encoded())
            #expect(try await client.readOptionReply().type == NBDReplyType.errUnknown.rawValue)
            // 512-byte blocks: a client that does not ask for block sizes is told to, and given them first.
            try await client.sendOption(NBDOption.go.rawValue, NBDExportRequest(name: "named", requests: []).encoded())
            let sizes = try await client.readOptionReply()
            #expect(sizes.type == NBDReplyType.info.rawValue && sizes.data.prefix(6) == [0, 3, 0, 0, 2, 0])
            #expect(try await client.readOptionReply().type == NBDReplyType.errBlockSizeRequired.rawValue)
            // NBD_OPT_LIST still works, then GO succeeds on the same connection.
            try await client.sendOption(NBDOption.list.rawValue, [])
            let server = try await client.readOptionReply()
            #expect(server.type == NBDReplyType.server.rawValue)
            #expect(server.data == [0, 0, 0, 5] + Array("named".utf8))
            #expect(try await client.readOptionReply().type == NBDReplyType.ack.rawValue)
            #expect(try await client.go("named") == 16 << 20)
            let read = try await client.call(NBDRequest(type: NBDCommand.read.rawValue, handle: 7, offset: 512, length: 1024), dataLength: 1024)
            #expect(read.reply == NBDSimpleReply(error: 0, handle: 7))
            #expect(read.data == [UInt8](repeating: 0, count: 1024))
        }
    }

    @Test func abortIsAcknowledged() async throws {
        try await NBDFixture.with { fixture in
            let client = try await RawNBDClient.connect(port: fixture.port)
            try await client.sendOption(NBDOption.abort.rawValue, [])
            #expect(try await client.readOptionReply().type == NBDReplyType.ack.rawValue)
            #expect(await client.isClosedByServer())
        }
    }

    /// Option data over the limit (16 KiB) is read and dropped and the
    /// option refused with NBD_REP_ERR_TOO_BIG, and the handshake goes on;
    /// an NBD_OPT_EXPORT_NAME that long (it cannot be refused) closes.
    @Test func oversizedOptionDataIsRefusedOrClosesExportName() async throws {
        try await NBDFixture.with { fixture in
            let client = try await RawNBDClient.connect(port: fixture.port)
            try await client.sendOption(NBDOption.go.rawValue, [UInt8](repeating: 0x61, count: 100_000))
            let reply = try await client.readOptionReply()
            #expect(reply.type == NBDReplyType.errTooBig.rawValue)
            #expect(String(decoding: reply.data, as: UTF8.self) == "option 7 with 100000 bytes of data (at most 16384)")
            #expect(try await client.go("scratch") == 16 << 20)

            let named = try await RawNBDClient.connect(port: fixture.port)
            try await named.connection.writeAll(NBDOptionHeader(option: NBDOption.exportName.rawValue, length: 1 << 30).encoded())
            #expect(await named.isClosedByServer())
            try await stillServes(fixture)
        }
    }

    @Test func badRequestsGetErrnoReplies() async throws {
        try await NBDFixture.with(size: 1 << 20) { fixture in
            let client = try await RawNBDClient.connect(port: fixture.port)
            #expect(try await client.go("scratch") == 1 << 20)
            let einval = NBDErrno.invalid.rawValue, enospc = NBDErrno.noSpace.rawValue
            let cases: [(NBDRequest, [UInt8], UInt32)] = [
                // Out of range, overflowing, misaligned, empty, oversized, unknown command, unknown flag.
                (NBDRequest(type: 0, handle: 1, offset: 1 << 20, length: 512), [], einval),
                (NBDRequest(type: 0, handle: 2, offset: UInt64.max - 511, length: 1024), [], einval),
                (NBDRequest(type: 0, handle: 3, offset: 100, length: 512), [], einval),
                (NBDRequest(type: 0, handle: 4, offset: 0, length: 0), [], einval),
                (NBDRequest(type: 0, handle: 5, offset: 0, length: 64 << 20), [], einval),
                (NBDRequest(type: 99, handle: 6, offset: 0, length: 512), [], einval),
                (NBDRequest(flags: NBDCommandFlags(rawValue: 0x100), type: 0, handle: 7, offset: 0, length: 512), [], einval),
                (NBDRequest(type: NBDCommand.blockStatus.rawValue, handle: 8, offset: 0, length: 512), [], einval),
                // A write past the end (its data is read and dropped): ENOSPC; trim past the end: EINVAL.
                (NBDRequest(type: 1, handle: 9, offset: (1 << 20) - 512, length: 1024), [UInt8](repeating: 9, count: 1024), enospc),
                (NBDRequest(type: 4, handle: 10, offset: 1 << 20, length: 512), [], einval),
            ]
            for (request, payload, errno) in cases {
                let result = try await client.call(request, payload: payload, dataLength: Int(request.length))
                #expect(result.reply == NBDSimpleReply(error: errno, handle: request.handle), "\(request)")
            }
            // The connection still works after all of them, and nothing was written.
            let write = try await client.call(NBDRequest(type: 1, handle: 11, offset: 0, length: 512), payload: [UInt8](repeating: 5, count: 512))
            #expect(write.reply == NBDSimpleReply(error: 0, handle: 11))
            // FUA is accepted on every command (it was EINVAL on READ and FLUSH).
            let read = try await client.call(NBDRequest(flags: .fua, type: 0, handle: 13, offset: 0, length: 512), dataLength: 512)
            #expect(read.reply == NBDSimpleReply(error: 0, handle: 13))
            #expect(read.data == [UInt8](repeating: 5, count: 512))
            let flush = try await client.call(NBDRequest(flags: .fua, type: 3, handle: 14, offset: 0, length: 0))
            #expect(flush.reply == NBDSimpleReply(error: 0, handle: 14))
            let file = try fixture.contents(fixture.export.path)
            #expect(file[0 ..< 512].allSatisfy { $0 == 5 })
            #expect(file[512...].allSatisfy { $0 == 0 })
            // NBD_CMD_DISC: the server closes.
            try await client.connection.writeAll(NBDRequest(type: NBDCommand.disconnect.rawValue, handle: 12, offset: 0, length: 0).encoded())
            #expect(await client.isClosedByServer())
        }
    }

    @Test func badRequestMagicOversizedWriteAndTruncationCloseOnlyThatConnection() async throws {
        try await NBDFixture.with { fixture in
            var header = NBDRequest(type: 0, handle: 1, offset: 0, length: 512).encoded()
            header[0] ^= 0xff
            let badMagic = try await RawNBDClient.connect(port: fixture.port)
            _ = try await badMagic.go("scratch")
            try await badMagic.connection.writeAll(header)
            #expect(await badMagic.isClosedByServer())

            let oversized = try await RawNBDClient.connect(port: fixture.port)
            _ = try await oversized.go("scratch")
            try await oversized.connection.writeAll(NBDRequest(type: 1, handle: 2, offset: 0, length: 64 << 20).encoded())
            #expect(await oversized.isClosedByServer())

            // Truncated header, then a truncated write payload: the client goes away mid-request.
            let truncated = try await RawNBDClient.connect(port: fixture.port)
            _ = try await truncated.go("scratch")
            try await truncated.connection.writeAll(Array(NBDRequest(type: 0, handle: 3, offset: 0, length: 512).encoded().prefix(10)))
            truncated.connection.close()
            let halfWrite = try await RawNBDClient.connect(port: fixture.port)
            _ = try await halfWrite.go("scratch")
            try await halfWrite.connection.writeAll(NBDRequest(type: 1, handle: 4, offset: 0, length: 4096).encoded() + [UInt8](repeating: 1, count: 100))
            halfWrite.connection.close()
            // A client that vanishes with reads in flight (its replies cannot be written).
            let vanishing = try await RawNBDClient.connect(port: fixture.port)
            _ = try await vanishing.go("scratch")
            for handle in 0 ..< UInt64(32) {
                try await vanishing.connection.writeAll(NBDRequest(type: 0, handle: handle, offset: 0, length: 1 << 20).encoded())
            }
            vanishing.connection.close()

            try await stillServes(fixture)
            #expect(try fixture.contents(fixture.export.path).allSatisfy { $0 == 0 }, "a truncated write reached the export")
        }
    }

    /// The spec: on NBD_CMD_DISC the server handles every outstanding
    /// request, then closes; nothing sent after it is read.
    @Test func disconnectAnswersTheRequestsInFlightFirst() async throws {
        try await NBDFixture.with { fixture in
            let client = try await RawNBDClient.connect(port: fixture.port)
            _ = try await client.go("scratch")
            var bytes: [UInt8] = []
            for handle in 1 ... UInt64(8) {
                bytes += NBDRequest(type: NBDCommand.write.rawValue, handle: handle, offset: (handle - 1) << 20, length: 1 << 20).encoded()
                bytes += [UInt8](repeating: UInt8(handle), count: 1 << 20)
            }
            bytes += NBDRequest(type: NBDCommand.disconnect.rawValue, handle: 99, offset: 0, length: 0).encoded()
            bytes += NBDRequest(type: NBDCommand.write.rawValue, handle: 100, offset: 0, length: 512).encoded() + [UInt8](repeating: 0xee, count: 512)
            try await client.connection.writeAll(bytes)
            var answered: Set<UInt64> = []
            for _ in 1 ... 8 {
                let reply = try NBDSimpleReply.parse(try await client.connection.readExactly(NBDSimpleReply.headerSize))
                #expect(reply.error == 0)
                answered.insert(reply.handle)
            }
            #expect(answered == Set(1 ... 8))
            #expect(await client.isClosedByServer())
            let file = try fixture.contents(fixture.export.path)
            for handle in 1 ... 8 {
                #expect(file[(handle - 1) << 20 ..< handle << 20].allSatisfy { $0 == UInt8(handle) }, "write \(handle)")
            }
            #expect(file[(8 << 20)...].allSatisfy { $0 == 0 })
        }
    }

    @Test func connectionsBeyondTheLimitAreClosedAndTheNextIsServed() async throws {
        var limits = NBDServerConfiguration()
        limits.maxConnections = 2
        let fixture = try NBDFixture.start(configuration: limits)
        let first = try await RawNBDClient.connect(port: fixture.port)
        let second = try await RawNBDClient.connect(port: fixture.port)
        #expect(try await first.go("scratch") == 16 << 20)
        // The third is closed at once (before or during its greeting).
        let third = try await TCPConnection.connect(host: "127.0.0.1", port: fixture.port)
        await #expect(throws: (any Error).self) { _ = try await third.readExactly(19) }
        #expect(try await second.go("scratch") == 16 << 20)
        try await first.connection.writeAll(NBDRequest(type: NBDCommand.disconnect.rawValue, handle: 1, offset: 0, length: 0).encoded())
        #expect(await first.isClosedByServer())
        // Once the first has gone, a new client is served (its slot is freed when its session ends).
        var served = false
        while !served {
            let next = try await TCPConnection.connect(host: "127.0.0.1", port: fixture.port)
            if let greeting = try? await next.readExactly(18) {
                served = greeting == NBDWire.greeting()
            }
            next.close()
        }
        #expect(served)
        await fixture.finish()
    }

    @Test func stopAnswersRequestsInFlightAndEndsRun() async throws {
        let fixture = try NBDFixture.start()
        let client = try await RawNBDClient.connect(port: fixture.port)
        _ = try await client.go("scratch")
        let write = try await client.call(NBDRequest(type: 1, handle: 1, offset: 0, length: 4096), payload: [UInt8](repeating: 3, count: 4096))
        #expect(write.reply.error == 0)
        await fixture.finish()  // stop() then waits for run() to return, with this client still connected
        #expect(await client.isClosedByServer())
        await #expect(throws: (any Error).self) { try await TCPConnection.connect(host: "127.0.0.1", port: fixture.port) }
    }
}

/// The pure parser and encoder, without sockets.
@Suite struct NBDWireTests {
    @Test func requestsRoundTripAndBadBytesAreRefused() throws {
        let request = NBDRequest(flags: .fua, type: NBDCommand.write.rawValue, handle: 0x0102_0304_0506_0708, offset: 1 << 40, length: 4096)
        let bytes = request.encoded()
        #expect(bytes.count == 28)
        #expect(Array(bytes.prefix(4)) == [0x25, 0x60, 0x95, 0x13])
        #expect(try NBDRequest.parse(bytes) == request)
        #expect(throws: NBDProtocolError.self) { try NBDRequest.parse(Array(bytes.prefix(27))) }
        var bad = bytes
        bad[3] = 0
        #expect { try NBDRequest.parse(bad) } throws: { ($0 as? NBDProtocolError)?.kind == .badMagic }
    }

    @Test func repliesAndOptionsEncodeAsTheProtocolSays() throws {
        #expect(NBDSimpleReply.encode(error: .invalid, handle: 9) == [0x67, 0x44, 0x66, 0x98, 0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 9])
        #expect(try NBDSimpleReply.parse(NBDSimpleReply.encode(error: .io, handle: 3)) == NBDSimpleReply(error: 5, handle: 3))
        #expect(NBDWire.greeting() == Array("NBDMAGICIHAVEOPT".utf8) + [0, 3])
        let info = NBDOptionReply.exportInfo(option: 7, size: 1 << 20, flags: 0x16d)
        #expect(info.count == 20 + 12)
        #expect(Array(info.prefix(8)) == [0, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9])
        let header = NBDOptionHeader(option: 7, length: 10)
        #expect(try NBDOptionHeader.parse(header.encoded()) == header)
        #expect(throws: NBDProtocolError.self) { try NBDOptionHeader.parse([UInt8](repeating: 0, count: 16)) }
    }

    @Test func exportRequestsParseStrictly() throws {
        let request = NBDExportRequest(name: "disk-á", requests: [3, 1])
        #expect(try NBDExportRequest.parse(request.encoded()) == request)
        for bad: [UInt8] in [[], [0, 0, 0], [0, 0, 0, 5, 0x61], [0, 0, 0, 1, 0x61, 0, 2, 0, 3], [0, 0, 0, 1, 0xff, 0, 0], [0, 1, 0, 0, 0, 0]] {
            #expect(throws: NBDProtocolError.self) { try NBDExportRequest.parse(bad) }
        }
        #expect(throws: NBDProtocolError.self) { try NBDWire.parseClientFlags([0, 0, 0, 0]) }
        #expect(try NBDWire.parseClientFlags([0, 0, 0, 3]).noZeroes)
    }
}
