import Testing
@testable import AtRestWire

/// Strings on the wire are UTF-8 without NUL bytes (docs/PROTOCOL.md
/// "Strings"); the bytes below are crafted by hand, as another client
/// would send them.
@Suite struct StringFieldTests {
    /// A length-delimited field: key, length, bytes.
    private func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        [number << 3 | 2, UInt8(bytes.count)] + bytes
    }

    private func invalidField(_ bytes: [UInt8]) -> WireError? {
        do {
            _ = try BlobPutRequest(serialized: bytes)
            return nil
        } catch let error as WireError {
            return error
        } catch {
            return nil
        }
    }

    @Test func wellFormedStringsDecodeWhole() throws {
        let bytes = field(1, Array("cont".utf8)) + field(2, Array("dir/ä €𝄞.txt".utf8))
        let request = try BlobPutRequest(serialized: bytes)
        #expect(request.container == "cont")
        #expect(request.name == "dir/ä €𝄞.txt")
    }

    @Test func nulInTopLevelStringsIsRefused() throws {
        let name = invalidField(field(1, Array("cont".utf8)) + field(2, Array("a.txt\0ignored".utf8)))
        #expect(name?.code == .invalidField)
        #expect(name?.message.contains("'name'") == true)
        #expect(name?.message.contains("NUL") == true)
        let container = invalidField(field(1, Array("cont\0x".utf8)) + field(2, Array("a".utf8)))
        #expect(container?.code == .invalidField)
        #expect(container?.message.contains("'container'") == true)
    }

    @Test func nulInMapKeysAndValuesIsRefused() throws {
        let key = invalidField(field(2, Array("a".utf8)) + field(4, field(1, Array("k\0zz".utf8)) + field(2, [0x76])))
        #expect(key?.code == .invalidField)
        #expect(key?.message.contains("'key'") == true)
        let value = invalidField(field(2, Array("a".utf8)) + field(4, field(1, [0x6b]) + field(2, Array("v\0".utf8))))
        #expect(value?.code == .invalidField)
        #expect(value?.message.contains("'value'") == true)
    }

    @Test func invalidUTF8IsRefused() throws {
        // protobuf-c 1.4 itself accepts every one of these.
        let cases: [[UInt8]] = [
            [0xFF, 0xFE],              // bytes that never occur in UTF-8
            [0xC0, 0x80],              // overlong encoding of NUL
            [0xED, 0xA0, 0x80],        // a UTF-16 surrogate
            [0x61, 0xE2, 0x82],        // truncated sequence
            [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
        ]
        for bad in cases {
            let error = invalidField(field(2, bad))
            #expect(error?.code == .invalidField, "\(bad)")
            #expect(error?.message.contains("not valid UTF-8") == true, "\(bad)")
        }
    }

    @Test func nestedMessageStringsAreChecked() throws {
        // ReplyHeader.status (field 2) is an RpcStatus whose message (field 2) holds a NUL.
        let status: [UInt8] = [0x08, 0x05] + field(2, Array("no\0pe".utf8))
        #expect(try ReplyHeader(serialized: field(2, [0x08, 0x05] + field(2, Array("nope".utf8)))).status.message == "nope")
        #expect(throws: WireError.self) { try ReplyHeader(serialized: field(2, status)) }
        // The same in a request header's metadata map (field 6 of RpcHeader).
        let entry = field(1, Array("authorization".utf8)) + field(2, Array("Bearer a\0b".utf8))
        let fine = field(1, Array("authorization".utf8)) + field(2, Array("Bearer ab".utf8))
        #expect(try RPCHeader(serialized: field(1, Array("m".utf8)) + field(6, fine)).bearerToken == "ab")
        #expect(throws: WireError.self) { try RPCHeader(serialized: field(1, Array("m".utf8)) + field(6, entry)) }
    }

    /// The fast path passes exactly the ASCII strings without NUL: a NUL or a byte ≥ 0x80 at any place, in the
    /// eight-byte words or the tail, sends the string to the full check.
    @Test func theASCIIFastPathSeesEveryNulAndHighByte() {
        for count in 0...20 {
            let plain = (0..<count).map { UInt8(0x20 + ($0 * 7) % 0x5F) }
            #expect(plain.withUnsafeBytes { ProtobufCCodec.isPlainASCII($0) }, "\(count)")
            for place in 0..<count {
                for odd: UInt8 in [0x00, 0x80, 0xC3, 0xFF, 0x01 | 0x80] {
                    var bytes = plain
                    bytes[place] = odd
                    #expect(!bytes.withUnsafeBytes { ProtobufCCodec.isPlainASCII($0) }, "\(count) \(place) \(odd)")
                }
            }
        }
        // 0x7F and 0x01 are ASCII; a word of them must not look like it holds a zero byte.
        #expect([UInt8](repeating: 0x7F, count: 16).withUnsafeBytes { ProtobufCCodec.isPlainASCII($0) })
        #expect([UInt8](repeating: 0x01, count: 16).withUnsafeBytes { ProtobufCCodec.isPlainASCII($0) })
        let long = Array(String(repeating: "x", count: 1000).utf8) + [0] + Array("tail".utf8)
        #expect(invalidField(field(2, Array(long.prefix(120))))?.code == nil)
        let error = invalidField([2 << 3 | 2, 0xED, 0x07] + long)  // 1005 bytes, one NUL at 1000
        #expect(error?.code == .invalidField && error?.message.contains("NUL") == true)
    }

    @Test func bytesFieldsMayHoldAnything() throws {
        let request = try BlobPutRequest(serialized: field(2, Array("a".utf8)) + field(5, [0, 0xFF, 0]))
        #expect(request.contentHash == [0, 0xFF, 0])
    }
}
