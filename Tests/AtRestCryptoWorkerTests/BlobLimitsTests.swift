import AtRestWire
import Testing
import AtRestCryptoWorker

/// Every published limit at its edge: the last value allowed and the first refused.
@Suite struct BlobLimitsTests {
    func refusal(_ body: () throws -> Void) -> RPCStatus? {
        do { try body() } catch let error as RPCStatus { return error } catch { return RPCStatus(.unknown, "\(error)") }
        return nil
    }

    @Test func containerNames() {
        for ok in ["abc", "a-b", "0ab", String(repeating: "a", count: 63), "a--"] {
            #expect(refusal { try BlobLimits.checkContainer(ok) } == nil, "\(ok)")
        }
        for bad in ["ab", String(repeating: "a", count: 64), "-ab", "Abc", "a_b", "a.b", "ab ", "abé", ""] {
            let error = refusal { try BlobLimits.checkContainer(bad) }
            #expect(error?.code == .invalidArgument, "\(bad)")
            #expect(error?.message.contains(BlobLimits.containerName) == true)
        }
    }

    @Test func blobNames() {
        #expect(refusal { try BlobLimits.checkBlobName("a") } == nil)
        #expect(refusal { try BlobLimits.checkBlobName(String(repeating: "é", count: 512)) } == nil)  // 1024 bytes
        #expect(refusal { try BlobLimits.checkBlobName("dir/sub dir/ünï.txt") } == nil)
        #expect(refusal { try BlobLimits.checkBlobName("") }?.message.contains("1-1024 bytes") == true)
        #expect(refusal { try BlobLimits.checkBlobName(String(repeating: "a", count: 1025)) }?.code == .invalidArgument)
        #expect(refusal { try BlobLimits.checkBlobName(String(repeating: "é", count: 512) + "a") }?.code == .invalidArgument)
        for control in ["a\u{0}b", "a\nb", "a\u{1F}", "\u{7F}"] {
            #expect(refusal { try BlobLimits.checkBlobName(control) }?.message == "blob name contains a control character")
        }
    }

    @Test func metadataEntriesAndKeys() {
        let full = Dictionary(uniqueKeysWithValues: (0..<64).map { ("k\($0)", "v") })
        #expect(refusal { try BlobLimits.checkMetadata(full) } == nil)
        var over = full
        over["k64"] = "v"
        #expect(refusal { try BlobLimits.checkMetadata(over) }?.message.contains("65 metadata entries") == true)
        #expect(refusal { try BlobLimits.checkMetadata(["Aa-_.9": "x", String(repeating: "k", count: 128): "y"]) } == nil)
        for bad in ["", String(repeating: "k", count: 129), "a b", "a/b", "ключ"] {
            #expect(refusal { try BlobLimits.checkMetadata([bad: "v"]) }?.code == .invalidArgument, "\(bad)")
        }
        for reserved in ["atrest.x", "ATREST.x", "Atrest.Content"] {
            #expect(refusal { try BlobLimits.checkMetadata([reserved: "v"]) }?.message.contains("reserved prefix") == true)
        }
        #expect(refusal { try BlobLimits.checkMetadata(["atrestx": "v"]) } == nil)
    }

    @Test func metadataValueAndTotalSizes() {
        #expect(refusal { try BlobLimits.checkMetadata(["a": String(repeating: "v", count: 4096)]) } == nil)
        #expect(refusal { try BlobLimits.checkMetadata(["a": String(repeating: "v", count: 4097)]) }?.message.contains("4097 bytes") == true)
        // Keys count towards the total: 1 + 4095 + 1 + 4095 = 8192.
        let atLimit = ["a": String(repeating: "v", count: 4095), "b": String(repeating: "v", count: 4095)]
        #expect(refusal { try BlobLimits.checkMetadata(atLimit) } == nil)
        let overLimit = ["a": String(repeating: "v", count: 4096), "b": String(repeating: "v", count: 4095)]
        #expect(refusal { try BlobLimits.checkMetadata(overLimit) }?.message.contains("8193 bytes in all") == true)
    }

    @Test func contentTypeAndHash() {
        #expect(refusal { try BlobLimits.checkContentType(String(repeating: "t", count: 256)) } == nil)
        #expect(refusal { try BlobLimits.checkContentType(String(repeating: "t", count: 257)) }?.code == .invalidArgument)
        #expect(refusal { try BlobLimits.checkContentHash([]) } == nil)
        #expect(refusal { try BlobLimits.checkContentHash([UInt8](repeating: 1, count: 32)) } == nil)
        for count in [1, 31, 33, 64] {
            #expect(refusal { try BlobLimits.checkContentHash([UInt8](repeating: 1, count: count)) }?.code == .invalidArgument)
        }
    }
}
