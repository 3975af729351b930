import AtRestNBD
import Testing

/// `NBDSession`, the protocol as a state machine over the client's bytes
/// (what `NBDServer` runs on its sockets and fuzz-nbd drives), without
/// sockets: the handshake's replies, the requests it hands out and those it
/// refuses, checked against the NBD spec
/// (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md).
@Suite struct NBDSessionTests {
    static let disk = SizedExport(name: "disk", bytes: 1 << 20)
    static let ack = NBDReplyType.ack.rawValue

    @Test func aWholeSessionGivesTheSameEventsHoweverTheBytesAreSplit() async throws {
        var client = ClientStream()
        client.option(.list)
        client.go("disk", .info, requests: [.name, .blockSize])
        client.go("disk")
        client.request(.write, handle: 1, offset: 4096, length: 4096, flags: .fua)
        client.request(.read, handle: 2, offset: 0, length: 8192)
        client.request(.trim, handle: 3, offset: 0, length: 512)
        client.request(.writeZeroes, handle: 4, offset: 512, length: 1024, flags: [.noHole, .fua])
        client.request(.flush, handle: 5)
        client.request(.disconnect, handle: 6)
        client.request(.read, handle: 7, offset: 0, length: 512)  // after NBD_CMD_DISC: never read
        let steps = await runSession(client.bytes, exports: [Self.disk])
        for piece in [1, 2, 5, 28, 4096, client.bytes.count] {
            #expect(await runSession(client.bytes, exports: [Self.disk], piece: piece) == steps, "fed \(piece) bytes at a time")
        }

        try #require(steps.count == 12, "\(steps)")
        // NBD_OPT_LIST: one NBD_REP_SERVER, then the ACK.
        #expect(steps[0].optionReplies.map(\.type) == [NBDReplyType.server.rawValue, Self.ack])
        #expect(steps[0].optionReplies.first?.data == [0, 0, 0, 4] + Array("disk".utf8))
        // NBD_OPT_INFO: export, name and block sizes, then the ACK; the handshake goes on.
        #expect(steps[1] == .size("disk"))
        let info = steps[2].optionReplies
        #expect(info.map(\.type) == [3, 3, 3, Self.ack])
        #expect(info.allSatisfy { $0.option == NBDOption.info.rawValue })
        #expect(info[0].data == [0, 0] + [0, 0, 0, 0, 0, 0x10, 0, 0] + [0, 0x6d])  // 1 MiB; flags: has, flush, FUA, trim, zeroes
        #expect(info[1].data == [0, 1] + Array("disk".utf8))
        #expect(info[2].data == [0, 3, 0, 0, 2, 0, 0, 0, 0x10, 0, 0x02, 0, 0, 0])  // 512, 4096, 32 MiB
        // NBD_OPT_GO: the same answer, then transmission.
        #expect(steps[3] == .size("disk"))
        #expect(steps[4].optionReplies.map(\.type) == [3, 3, Self.ack])
        #expect(steps[5] == .transmit("disk", 1 << 20))
        #expect(steps[6] == .request(NBDRequest(flags: .fua, type: 1, handle: 1, offset: 4096, length: 4096), payload: 4096))
        #expect(steps[7] == .request(NBDRequest(type: 0, handle: 2, offset: 0, length: 8192), payload: 0))
        #expect(steps[8] == .request(NBDRequest(type: 4, handle: 3, offset: 0, length: 512), payload: 0))
        #expect(steps[9] == .request(NBDRequest(flags: [.noHole, .fua], type: 6, handle: 4, offset: 512, length: 1024), payload: 0))
        #expect(steps[10] == .request(NBDRequest(type: 3, handle: 5, offset: 0, length: 0), payload: 0))
        #expect(steps[11] == .close(nil))
    }

    /// The spec: NBD_CMD_FLAG_FUA is valid on every command once
    /// NBD_FLAG_SEND_FUA is advertised, and the server must accept it (the
    /// server answered a READ or FLUSH with FUA EINVAL). Flags not
    /// documented for a command, or not advertised, are EINVAL.
    @Test func fuaIsAcceptedOnEveryCommandAndOtherFlagsOnlyWhereTheyBelong() async throws {
        var client = ClientStream()
        client.go("disk")
        client.request(.read, handle: 1, offset: 0, length: 512, flags: .fua)
        client.request(.flush, handle: 2, flags: .fua)
        client.request(.trim, handle: 3, offset: 0, length: 512, flags: .fua)
        client.request(.writeZeroes, handle: 4, offset: 0, length: 512, flags: .fastZero)  // NBD_FLAG_SEND_FAST_ZERO not advertised
        client.request(.read, handle: 5, offset: 0, length: 512, flags: .dontFragment)  // no structured replies
        client.request(.write, handle: 6, offset: 0, length: 512, flags: .noHole)  // NO_HOLE is for WRITE_ZEROES
        client.request(.trim, handle: 7, offset: 0, length: 512, flags: .noHole)
        client.request(.read, handle: 8, offset: 0, length: 512, flags: NBDCommandFlags(rawValue: 0x8000))
        let steps = await runSession(client.bytes, exports: [Self.disk])
        try #require(steps.count == 11, "\(steps)")
        #expect(steps[3] == .request(NBDRequest(flags: .fua, type: 0, handle: 1, offset: 0, length: 512), payload: 0))
        #expect(steps[4] == .request(NBDRequest(flags: .fua, type: 3, handle: 2, offset: 0, length: 0), payload: 0))
        #expect(steps[5] == .request(NBDRequest(flags: .fua, type: 4, handle: 3, offset: 0, length: 512), payload: 0))
        #expect(Array(steps[6...10]) == (4 ... 8).map { SessionStep.refuse(handle: $0, .invalid) })
    }

    @Test func requestsOutsideTheExportOrItsRulesAreRefusedWithTheSpecsErrors() async throws {
        let readOnly = SizedExport(name: "ro", bytes: 64 << 10, minimumBlockSize: 1, isReadOnly: true)
        var client = ClientStream()
        client.go("disk")
        client.request(.read, handle: 1, offset: 1 << 20, length: 512)  // past the end: EINVAL
        client.request(.write, handle: 2, offset: (1 << 20) - 512, length: 1024)  // past the end: ENOSPC
        client.request(.writeZeroes, handle: 3, offset: 1 << 20, length: 512)  // ENOSPC
        client.request(.trim, handle: 4, offset: UInt64.max - 511, length: 1024)  // overflowing: EINVAL
        client.request(.read, handle: 5, offset: 100, length: 512)  // misaligned: EINVAL
        client.request(.write, handle: 6, offset: 0, length: 0)  // empty: EINVAL
        client.request(.read, handle: 7, offset: 0, length: 64 << 20)  // over 32 MiB: EINVAL
        client.request(.blockStatus, handle: 8, offset: 0, length: 512)  // not negotiated: EINVAL
        client.request(.write, handle: 9, offset: 0, length: 512)
        let steps = await runSession(client.bytes, exports: [Self.disk, readOnly])
        try #require(steps.count == 12, "\(steps)")
        let errnos: [NBDErrno] = [.invalid, .noSpace, .noSpace, .invalid, .invalid, .invalid, .invalid, .invalid]
        #expect(Array(steps[3 ..< 11]) == errnos.enumerated().map { SessionStep.refuse(handle: UInt64($0.offset + 1), $0.element) })
        #expect(steps[11] == .request(NBDRequest(type: 1, handle: 9, offset: 0, length: 512), payload: 512), "the refused write's data was not dropped")

        // A read-only export: EPERM for everything that writes, reads go through.
        var reader = ClientStream()
        reader.go("ro", requests: [])
        reader.request(.write, handle: 1, offset: 0, length: 100)
        reader.request(.trim, handle: 2, offset: 0, length: 100)
        reader.request(.writeZeroes, handle: 3, offset: 0, length: 100)
        reader.request(.read, handle: 4, offset: 7, length: 100)
        reader.request(.flush, handle: 5)
        let read = await runSession(reader.bytes, exports: [Self.disk, readOnly])
        try #require(read.count == 8, "\(read)")
        #expect(read[1].optionReplies.first?.data.suffix(2) == [0, 0x6f], "flags: has, read-only, flush, FUA, trim, zeroes")
        #expect(Array(read[3 ... 5]) == (1 ... 3).map { SessionStep.refuse(handle: $0, .permission) })
        #expect(read[6] == .request(NBDRequest(type: 0, handle: 4, offset: 7, length: 100), payload: 0))
    }

    /// A WRITE refused for its length (over `maxPayload`, at most 32 MiB)
    /// has its data read and dropped and gets EINVAL (the spec: such a
    /// length is no denial of service); a longer one cuts the connection.
    @Test func oversizedWritesAreRefusedAndTheirDataDropped() async throws {
        var limits = NBDServerConfiguration()
        limits.maxPayload = 4096
        var client = ClientStream()
        client.go("disk")
        client.request(.write, handle: 1, offset: 0, length: 8192)
        client.request(.read, handle: 2, offset: 0, length: 8192)
        client.request(.write, handle: 3, offset: 0, length: 4096)
        client.bytes += NBDRequest(type: 1, handle: 4, offset: 0, length: (32 << 20) + 512).encoded()
        let steps = await runSession(client.bytes, exports: [Self.disk], configuration: limits)
        try #require(steps.count == 7, "\(steps)")
        #expect(steps[1].optionReplies.first { $0.type == 3 && $0.data.first == 0 && $0.data[1] == 3 }?.data.suffix(4) == [0, 0, 0x10, 0])
        #expect(steps[3] == .refuse(handle: 1, .invalid))
        #expect(steps[4] == .refuse(handle: 2, .invalid))
        #expect(steps[5] == .request(NBDRequest(type: 1, handle: 3, offset: 0, length: 4096), payload: 4096))
        #expect(steps[6] == .close(NBDProtocolError(.tooLarge, "write of 33554944 bytes (at most 4096)")))
    }

    /// Option data over `maxOptionLength` is read and dropped (the spec:
    /// the length lets a server skip what it will not take) and the option
    /// refused: NBD_REP_ERR_TOO_BIG, or NBD_REP_ERR_UNSUP for an unknown
    /// option; the handshake goes on. NBD_OPT_EXPORT_NAME cannot be refused:
    /// the connection ends.
    @Test func oversizedOptionsAreDroppedAndRefused() async throws {
        var limits = NBDServerConfiguration()
        limits.maxOptionLength = 64
        var client = ClientStream()
        client.option(.go, NBDExportRequest(name: String(repeating: "d", count: 100), requests: []).encoded())
        client.option(4242, [UInt8](repeating: 7, count: 200_000))
        client.option(.abort, [UInt8](repeating: 1, count: 65))
        let aborted = await runSession(client.bytes, exports: [Self.disk], configuration: limits)
        try #require(aborted.count == 4, "\(aborted)")
        #expect(aborted[0].optionReplies.map(\.type) == [NBDReplyType.errTooBig.rawValue])
        #expect(aborted[1].optionReplies.map(\.type) == [NBDReplyType.errUnsupported.rawValue])
        #expect(aborted[2].optionReplies.map(\.type) == [Self.ack])
        #expect(aborted[3] == .close(nil))

        var going = ClientStream()
        going.option(.info, [UInt8](repeating: 0, count: 1000))
        going.go("disk")
        let went = await runSession(going.bytes, exports: [Self.disk], configuration: limits)
        #expect(went.first?.optionReplies.map(\.type) == [NBDReplyType.errTooBig.rawValue])
        #expect(went.last == .transmit("disk", 1 << 20))

        var named = ClientStream()
        named.option(.exportName, Array(String(repeating: "d", count: 65).utf8))
        #expect(await runSession(named.bytes, exports: [Self.disk], configuration: limits)
            == [.close(NBDProtocolError(.tooLarge, "NBD_OPT_EXPORT_NAME with 65 bytes of data"))])
    }

    /// The spec: a server sending NBD_REP_ERR_BLOCK_SIZE_REQD SHOULD first
    /// send NBD_INFO_BLOCK_SIZE, to spare the client a round trip; the error
    /// is about entering transmission, so NBD_OPT_INFO gets its answer with
    /// the block sizes, asked or not.
    @Test func blockSizeRequiredComesAfterTheBlockSizesAndOnlyForGo() async throws {
        var client = ClientStream()
        client.go("disk", requests: [])
        client.go("disk", .info, requests: [])
        client.go("disk", requests: [.blockSize])
        let steps = await runSession(client.bytes, exports: [Self.disk])
        try #require(steps.count == 6, "\(steps)")
        let refused = steps[0].optionReplies
        #expect(refused.map(\.type) == [NBDReplyType.info.rawValue, NBDReplyType.errBlockSizeRequired.rawValue])
        #expect(refused.first?.data.prefix(6) == [0, 3, 0, 0, 2, 0])
        #expect(steps[1] == .size("disk"))
        #expect(steps[2].optionReplies.map(\.type) == [3, 3, Self.ack])
        #expect(steps[2].optionReplies[1].data.prefix(6) == [0, 3, 0, 0, 2, 0])
        #expect(steps[5] == .transmit("disk", 1 << 20))
    }

    @Test func unknownAndUnavailableExportsAreRefusedAndTheHandshakeGoesOn() async throws {
        let gone = SizedExport(name: "gone", bytes: 4096, unavailable: true)
        var client = ClientStream()
        client.go("nope")
        client.go("gone")
        client.go("")  // the default export exists only when one is served
        client.option(.structuredReply)
        client.option(.startTLS)
        client.option(.list, [1])
        client.go("disk")
        let steps = await runSession(client.bytes, exports: [Self.disk, gone])
        let types = steps.flatMap { $0.optionReplies.map(\.type) }
        #expect(types == [NBDReplyType.errUnknown, .errUnknown, .errUnknown, .errUnsupported, .errUnsupported, .errInvalid, .info, .info, .ack].map(\.rawValue))
        #expect(steps.last == .transmit("disk", 1 << 20))
        #expect(steps.contains(.size("gone")))

        // NBD_OPT_EXPORT_NAME has no error reply: unknown or unavailable exports end the connection.
        for name in ["nope", "gone"] {
            var old = ClientStream()
            old.option(.exportName, Array(name.utf8))
            let closed = await runSession(old.bytes, exports: [Self.disk, gone])
            #expect(closed.last.map { if case .close(let error) = $0 { error?.kind == .invalid } else { false } } == true, "\(closed)")
        }
        // With one export, the empty name selects it; NO_ZEROES drops the 124 zeros.
        for (flags, length) in [(NBDWire.clientFlagFixedNewstyle | NBDWire.clientFlagNoZeroes, 10), (NBDWire.clientFlagFixedNewstyle, 134)] {
            var old = ClientStream(flags: flags)
            old.option(.exportName, [])
            let steps = await runSession(old.bytes, exports: [Self.disk])
            #expect(steps == [.size("disk"), .send([0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x6d] + [UInt8](repeating: 0, count: length - 10)), .transmit("disk", 1 << 20)])
        }
    }

    @Test func brokenFramingEndsTheSession() async throws {
        #expect(await runSession(ClientStream(flags: 0).bytes, exports: [Self.disk]).last
            == .close(NBDProtocolError(.unsupported, "the client does not speak fixed newstyle")))
        #expect(await runSession(ClientStream(flags: 5).bytes, exports: [Self.disk]).last
            == .close(NBDProtocolError(.unsupported, "unknown client flags 0x5")))
        var badOption = ClientStream()
        badOption.bytes += [UInt8](repeating: 0x41, count: 16)
        #expect(await runSession(badOption.bytes, exports: [Self.disk]).last == .close(NBDProtocolError(.badMagic, "bad magic in option header")))
        var badRequest = ClientStream()
        badRequest.go("disk")
        badRequest.bytes += [UInt8](repeating: 0, count: 28)
        #expect(await runSession(badRequest.bytes, exports: [Self.disk]).last == .close(NBDProtocolError(.badMagic, "bad magic in request header")))
        // A client that stops mid-request: no event for it, the session waits for more.
        var cut = ClientStream()
        cut.go("disk")
        cut.request(.write, handle: 1, offset: 0, length: 4096)
        let steps = await runSession(Array(cut.bytes.dropLast(100)), exports: [Self.disk])
        #expect(steps.last == .transmit("disk", 1 << 20))
    }

    /// Error messages are strings as the spec defines them (UTF-8, no NUL):
    /// a long name of multi-byte characters was cut inside a character.
    @Test func errorMessagesAreUTF8WithoutNUL() async throws {
        var client = ClientStream()
        client.go(String(repeating: "€", count: 1000) + "\0x")
        client.go("a\0b")
        let steps = await runSession(client.bytes, exports: [Self.disk])
        let messages = steps.flatMap { $0.optionReplies.map(\.data) }
        try #require(messages.count == 2)
        for message in messages {
            #expect(message.count <= NBDOptionReply.maxMessageLength)
            #expect(!message.contains(0))
            #expect(String(validating: message, as: UTF8.self) != nil)
        }
        #expect(String(decoding: messages[1], as: UTF8.self) == "no export named 'ab'")
        let cut = NBDOptionReply.error(option: 7, .errUnknown, String(repeating: "é", count: 600))
        #expect(cut.count == 20 + 1024 && String(validating: cut[20...], as: UTF8.self) == String(repeating: "é", count: 512))
        let odd = NBDOptionReply.error(option: 7, .errUnknown, "x" + String(repeating: "é", count: 600))
        #expect(odd.count == 20 + 1023 && String(validating: odd[20...], as: UTF8.self) != nil)
    }
}
